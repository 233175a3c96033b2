/* pf.js: what the account and support pages share: the token, calls to the
 * public API, problem+json errors, and formatting. No framework, no build
 * step, no third-party code: the pages run as shipped.
 *
 * The token: the site's login (the auth server's client) opens the page
 * with the access token in the URL fragment, /account/#token=<JWT>. A
 * fragment never leaves the browser (no request, no log, no Referer
 * carries it); the page moves it to sessionStorage (this tab only, gone
 * when the tab closes) and removes it from the address bar and history at
 * once. A login that already keeps the token in sessionStorage under
 * "pf_token" (same origin) needs no fragment at all. */
"use strict";

var PF = (function () {
	var STORAGE_KEY = "pf_token";

	function takeToken() {
		var hash = window.location.hash.replace(/^#/, "");
		var params = new URLSearchParams(hash);
		var fromHash = params.get("token");
		if (fromHash) {
			try { window.sessionStorage.setItem(STORAGE_KEY, fromHash); } catch (e) { /* storage off: keep it in memory */ }
			window.history.replaceState(null, "", window.location.pathname + window.location.search);
			return fromHash;
		}
		try { return window.sessionStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
	}

	var token = takeToken();

	/* A refusal of the API: title and detail are problem+json's, written
	 * for the person in front of the page. */
	function Problem(status, body) {
		this.status = status;
		this.code = body && body.code;
		this.title = (body && body.title) || "Request failed";
		this.detail = (body && body.detail) || ("The service answered " + status + ".");
	}

	function idempotencyKey() {
		if (window.crypto && window.crypto.randomUUID)
			return window.crypto.randomUUID();
		var bytes = new Uint8Array(16);
		window.crypto.getRandomValues(bytes);
		return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
	}

	/* Calls /api/v1 + path; resolves with the JSON body, rejects with a
	 * Problem. Every POST carries a fresh Idempotency-Key: a retried click
	 * or a lost answer never applies an action twice. */
	function api(method, path, body) {
		if (!token)
			return Promise.reject(new Problem(401, {title: "Not signed in",
				detail: "Sign in again: this page was opened without a session."}));
		var headers = {"Authorization": "Bearer " + token, "Accept": "application/json"};
		var init = {method: method, headers: headers, cache: "no-store", credentials: "omit"};
		if (method === "POST") {
			headers["Idempotency-Key"] = idempotencyKey();
			if (body !== undefined) {
				headers["Content-Type"] = "application/json";
				init.body = JSON.stringify(body);
			}
		}
		return window.fetch("/api/v1" + path, init).then(function (res) {
			return res.text().then(function (text) {
				var json = null;
				try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
				if (res.ok)
					return json;
				throw new Problem(res.status, json);
			});
		}, function () {
			throw new Problem(0, {title: "Network error",
				detail: "The service could not be reached; check your connection and try again."});
		});
	}

	/* el("p", {class: "x"}, "text", child): text is always set as text,
	 * never parsed as HTML, so nothing the API returns can run as code. */
	function el(tag, attrs) {
		var node = document.createElement(tag);
		var i, name;
		attrs = attrs || {};
		for (name in attrs) {
			if (!Object.prototype.hasOwnProperty.call(attrs, name) || attrs[name] === null || attrs[name] === undefined || attrs[name] === false)
				continue;
			if (name === "text")
				node.textContent = attrs[name];
			else if (name === "onclick" || name === "onsubmit" || name === "onchange")
				node.addEventListener(name.slice(2), attrs[name]);
			else
				node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
		}
		for (i = 2; i < arguments.length; i++) {
			var child = arguments[i];
			if (child === null || child === undefined || child === false)
				continue;
			node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
		}
		return node;
	}

	function clear(node) {
		while (node.firstChild)
			node.removeChild(node.firstChild);
		return node;
	}

	/* Shows a Problem (or any error) in a role="alert" box. */
	function showError(box, err) {
		clear(box);
		if (!err) {
			box.hidden = true;
			return;
		}
		var title = err.title || "Something went wrong";
		var detail = err.detail || String(err.message || err);
		box.appendChild(el("strong", {"class": "problem-title", text: title}));
		box.appendChild(el("span", {"class": "problem-detail", text: " " + detail}));
		box.hidden = false;
	}

	function showStatus(box, text) {
		box.textContent = text || "";
	}

	/* Dates as the service keeps them, UTC: 2026-12-04 (and the time where
	 * it matters), so a customer reads the same day support and mail quote. */
	function date(iso) {
		return iso ? iso.slice(0, 10) : "";
	}

	function dateTime(iso) {
		return iso ? iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC" : "";
	}

	function timeEl(iso, withTime) {
		return el("time", {datetime: iso, text: withTime ? dateTime(iso) : date(iso)});
	}

	function money(cents, currency) {
		try {
			return new Intl.NumberFormat("en", {style: "currency", currency: currency}).format(cents / 100);
		} catch (e) {
			return (cents / 100).toFixed(2) + " " + currency;
		}
	}

	return {api: api, el: el, clear: clear, showError: showError, showStatus: showStatus,
		date: date, dateTime: dateTime, timeEl: timeEl, money: money, Problem: Problem,
		hasToken: function () { return !!token; }};
}());
