"""browser.py: headless Chromium (Debian's chromium, chromium-driver and
python3-selenium) driving the reference pages served by the suite's nginx.
Every wait is explicit (WebDriverWait on a condition of the page), none is
a sleep. Screenshots go to PF_ARTIFACT_DIR, else $PF_STACK_DIR/screenshots
(kept when the suite fails)."""
import contextlib, os, shutil, sys, tempfile
try:
    from selenium import webdriver
except ImportError:
    # Debian's python3-selenium lives in the system interpreter's
    # dist-packages; a python3 from elsewhere first on PATH (pyenv) does not
    # look there
    sys.path.append("/usr/lib/python3/dist-packages")
    from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from harness import PUBLIC

CHROMIUM = os.environ.get("PF_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PF_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 10  # seconds any one condition may take (a valgrind'd app is slow)
ARTIFACTS = os.environ.get("PF_ARTIFACT_DIR") or os.path.join(
    os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack"), "screenshots")

# No background traffic: on a closed network Chromium's own connections
# (component updates, sync, field trials) are refused and slow it down.
FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1700"]


class Page:
    def __init__(self, driver):
        self.d = driver

    def open(self, path, tok):
        """Opens PUBLIC + path with the token in the fragment, as the site's
        login does, and waits until the page has drawn the API's answers."""
        self.d.get(f"{PUBLIC}{path}#token={tok}")
        self.wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "true"
                  or d.find_element(By.ID, "error").is_displayed())

    def wait(self, condition, message=""):
        return WebDriverWait(self.d, WAIT).until(condition, message)

    def find(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def finds(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def text(self, css):
        found = self.finds(css)
        return found[0].text if found else ""

    def wait_text(self, css, part):
        """Waits until the element css exists and its text holds part."""
        self.wait(lambda d: part in self.text(css), f"{css} never showed {part!r}: {self.text(css)!r}")
        return self.text(css)

    def wait_gone(self, css):
        self.wait(lambda d: not any(e.is_displayed() for e in self.finds(css)), f"{css} stays")

    def select(self, css, value):
        Select(self.find(css)).select_by_value(value)

    def shot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, f"{name}.png")
        # the whole page, not just the window: size the window to it first
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(1280, max(900, min(int(height) + 40, 6000)))
        self.d.save_screenshot(path)
        return path

    def console_errors(self):
        """What the page logged as errors (a CSP refusal, a script error).
        An API answer of 4xx is logged too ("Failed to load resource"): the
        pages show those on purpose, so they are not counted here."""
        return [e for e in self.d.get_log("browser")
                if e.get("level") == "SEVERE" and "favicon.ico" not in e.get("message", "")
                and "Failed to load resource: the server responded with a status of 4" not in e.get("message", "")]


@contextlib.contextmanager
def browser():
    profile = tempfile.mkdtemp(prefix="pf-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT)
    page = Page(driver)
    try:
        yield page
        errors = page.console_errors()
        assert not errors, errors
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
