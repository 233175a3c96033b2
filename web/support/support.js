/* support.js: the reference support console. The queue is
 * GET /support/refund-requests (oldest first, as the service sorts it);
 * "overdue" is the service's own flag (past the 5-business-day promise).
 * Approve (in full or part), deny with a note, suspend an account. */
"use strict";

(function () {
	var el = PF.el, $ = function (id) { return document.getElementById(id); };
	var queue = [], current = null;

	function fail(err) {
		PF.showError($("error"), err);
	}

	function load() {
		var status = $("queue-status").value;
		return PF.api("GET", "/support/refund-requests?status=" + encodeURIComponent(status)).then(function (r) {
			queue = r.refund_requests;
			render();
		});
	}

	function itemText(r) {
		if (r.charge) {
			var c = r.charge;
			return c.description + ", " + PF.money(c.amount_cents, c.currency) + " on " + PF.date(c.charged_at) +
				(c.refunded_cents ? " (" + PF.money(c.refunded_cents, c.currency) + " refunded)" : "");
		}
		if (r.task)
			return r.task.kind + " task, " + r.task.credits + " credits, failed " + PF.date(r.task.failed_at) +
				" (cause reported: " + r.task.failure_cause + ")";
		return r.charge_id || r.task_id;
	}

	function render() {
		document.body.setAttribute("data-loaded", "true");
		var body = PF.clear($("queue").tBodies[0]);
		$("queue-empty").hidden = queue.length > 0;
		queue.forEach(function (r) {
			var due = el("td", {}, PF.timeEl(r.respond_by, true));
			if (r.overdue) {
				due.appendChild(document.createTextNode(" "));
				due.appendChild(el("span", {"class": "badge", text: "Overdue"}));
			}
			body.appendChild(el("tr", {"data-request-id": r.id, "data-overdue": r.overdue ? "true" : "false",
				"class": r.overdue ? "overdue" : null},
				el("td", {}, PF.timeEl(r.submitted_at, true)),
				due,
				el("td", {}, r.user_id, el("br"), r.account_email || "(no address)",
					r.email && r.email !== r.account_email ? el("span", {"class": "hint", text: " · reply to " + r.email}) : null),
				el("td", {text: itemText(r)}),
				el("td", {text: r.reason}),
				el("td", {text: r.description}),
				el("td", {"class": "request-status", text: r.status + (r.decision_note ? ": " + r.decision_note : "")}),
				el("td", {}, el("button", {type: "button", "class": "secondary review-button",
					"aria-label": "Review request of " + r.user_id + " submitted " + PF.dateTime(r.submitted_at),
					onclick: function () { open(r); }}, "Review"))));
		});
	}

	function open(r) {
		current = r;
		var details = PF.clear($("review-details"));
		[["Request", r.id], ["Customer", r.user_id + " (" + (r.account_email || "no address") + ")"],
		 ["Reply to", r.email || ""], ["For", itemText(r)], ["Reason", r.reason], ["Description", r.description],
		 ["Submitted", PF.dateTime(r.submitted_at)], ["Answer due", PF.dateTime(r.respond_by) + (r.overdue ? " (overdue)" : "")],
		 ["Status", r.status]].forEach(function (row) {
			details.appendChild(el("dt", {text: row[0]}));
			details.appendChild(el("dd", {text: row[1]}));
		});
		var pending = r.status === "pending";
		$("approve-form").hidden = !pending;
		$("deny-form").hidden = !pending;
		$("approve-amount-box").hidden = !r.charge;
		if (r.charge) {
			$("approve-currency").textContent = r.charge.currency;
			$("approve-amount-hint").textContent = "Leave empty to refund everything still unrefunded (" +
				PF.money(r.charge.amount_cents - (r.charge.refunded_cents || 0), r.charge.currency) + ").";
		}
		["approve-amount", "approve-note", "deny-note", "suspend-note"].forEach(function (id) { $(id).value = ""; });
		Array.prototype.forEach.call(document.querySelectorAll("#queue tr"), function (tr) {
			tr.classList.toggle("selected", tr.getAttribute("data-request-id") === r.id);
		});
		$("review-h").textContent = "Review the request of " + r.user_id;
		$("review").hidden = false;
		$("review-h").focus();
	}

	function close() {
		current = null;
		$("review").hidden = true;
		$("queue-h").focus();
	}

	function act(button, call, message) {
		PF.showError($("error"), null);
		PF.showStatus($("status"), "");
		button.disabled = true;
		call().then(function (answer) {
			return load().then(function () {
				close();
				PF.showStatus($("status"), message(answer));
			});
		}).catch(fail).then(function () { button.disabled = false; });
	}

	/* "12.50" -> 1250; null when empty; NaN when not an amount. */
	function cents(text) {
		text = text.trim();
		if (text === "")
			return null;
		if (!/^\d+(\.\d{1,2})?$/.test(text))
			return NaN;
		var parts = text.split(".");
		return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
	}

	document.addEventListener("DOMContentLoaded", function () {
		$("queue-status").addEventListener("change", function () { close(); load().catch(fail); });
		$("review-close").addEventListener("click", close);
		$("approve-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			var r = current, body = {}, amount = r.charge ? cents($("approve-amount").value) : null;
			if (amount !== null && (isNaN(amount) || amount <= 0)) {
				fail({title: "Not sent.", detail: "Give the amount as a number such as 12.50, or leave it empty for a full refund."});
				$("approve-amount").focus();
				return;
			}
			if (amount !== null)
				body.amount_cents = amount;
			if ($("approve-note").value.trim())
				body.note = $("approve-note").value.trim();
			act($("approve-submit"), function () {
				return PF.api("POST", "/support/refund-requests/" + encodeURIComponent(r.id) + "/approve", body);
			}, function () { return "Approved the request of " + r.user_id + "."; });
		});
		$("deny-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			var r = current, note = $("deny-note").value.trim();
			if (!note) {
				fail({title: "Not sent.", detail: "A denial needs a note for the customer."});
				$("deny-note").focus();
				return;
			}
			act($("deny-submit"), function () {
				return PF.api("POST", "/support/refund-requests/" + encodeURIComponent(r.id) + "/deny", {note: note});
			}, function () { return "Denied the request of " + r.user_id + "."; });
		});
		$("suspend-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			var r = current, note = $("suspend-note").value.trim();
			if (!note) {
				fail({title: "Not sent.", detail: "A suspension needs an internal note."});
				$("suspend-note").focus();
				return;
			}
			act($("suspend-submit"), function () {
				return PF.api("POST", "/support/users/" + encodeURIComponent(r.user_id) + "/suspend", {note: note});
			}, function () { return "Suspended the account " + r.user_id + "."; });
		});
		load().catch(fail);
	});
}());
