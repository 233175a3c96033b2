/* account.js: the reference account settings page. Everything it shows
 * and offers comes from the public API: the plan and credits from
 * /account, the downgrade choices from /plans, the refund form from
 * /refund-form (reasons, fields, which charges and tasks qualify), the
 * history from /charges and /refund-requests. The service decides; the
 * page explains before anything is sent. */
"use strict";

(function () {
	var el = PF.el, $ = function (id) { return document.getElementById(id); };
	var state = null;   /* the last answers of the API */

	function load() {
		return Promise.all([
			PF.api("GET", "/account"), PF.api("GET", "/plans"), PF.api("GET", "/charges"),
			PF.api("GET", "/refund-form"), PF.api("GET", "/refund-requests")
		]).then(function (r) {
			state = {account: r[0], plans: r[1].plans, charges: r[2].charges, form: r[3],
				requests: r[4].refund_requests};
			render();
		});
	}

	function fail(err) {
		PF.showError($("error"), err);
	}

	/* Runs an action, then reloads everything (the service's answer is the
	 * truth: a period may have rolled over meanwhile). */
	function act(button, call, done) {
		PF.showError($("error"), null);
		PF.showStatus($("status"), "");
		if (button)
			button.disabled = true;
		return call().then(function (answer) {
			return load().then(function () { done(answer); });
		}).catch(fail).then(function () {
			if (button)
				button.disabled = false;
		});
	}

	function render() {
		document.body.setAttribute("data-loaded", "true");
		renderSubscription();
		renderCredits();
		renderCharges();
		renderForm();
		renderRequests();
	}

	function paid(sub) {
		return sub.current_period_end !== null && sub.plan !== "free";
	}

	function renderSubscription() {
		var acct = state.account, sub = acct.subscription;
		var statusBox = PF.clear($("sub-status")), change = PF.clear($("scheduled-change"));
		$("plan").textContent = sub.plan.charAt(0).toUpperCase() + sub.plan.slice(1);
		PF.clear($("period-end"));
		if (acct.user.status === "suspended") {
			statusBox.appendChild(el("span", {"class": "not-eligible", text: "Account suspended"}));
		} else if (!paid(sub)) {
			statusBox.textContent = "Free plan";
		} else if (sub.cancel_at_period_end) {
			statusBox.appendChild(el("span", {id: "active-until"}, "Active until ",
				PF.timeEl(sub.current_period_end), " (cancelled: it will not renew)"));
		} else {
			statusBox.appendChild(el("span", {id: "renews-on"}, "Renews on ", PF.timeEl(sub.renews_at)));
		}
		if (sub.current_period_end)
			$("period-end").appendChild(PF.timeEl(sub.current_period_end, true));
		else
			$("period-end").textContent = "No billing period (free plan)";
		if (sub.scheduled_change) {
			change.appendChild(el("span", {id: "scheduled-text"}, "Switches to " + sub.scheduled_change.plan + " on ",
				PF.timeEl(sub.scheduled_change.effective_at)));
			change.appendChild(el("br"));
			change.appendChild(el("button", {type: "button", id: "withdraw-downgrade", "class": "secondary",
				onclick: withdraw}, "Keep my current plan"));
		} else {
			change.textContent = "None";
		}
		var active = paid(sub) && acct.user.status === "active";
		$("cancel-form").hidden = !active || sub.cancel_at_period_end;
		$("resume-box").hidden = !active || !sub.cancel_at_period_end;
		var options = downgradeOptions(sub);
		var select = PF.clear($("downgrade-plan"));
		options.forEach(function (p) {
			select.appendChild(el("option", {value: p.name},
				p.name + " (" + PF.money(p.price_cents, p.currency) + " a month, " + p.included_credits + " credits)"));
		});
		$("downgrade-form").hidden = !active || sub.cancel_at_period_end || options.length === 0;
	}

	/* Paid plans ranked below the current one, from the plans table. */
	function downgradeOptions(sub) {
		var current = state.plans.filter(function (p) { return p.name === sub.plan; })[0];
		if (!current)
			return [];
		return state.plans.filter(function (p) { return p.price_cents > 0 && p.rank < current.rank; });
	}

	function renderCredits() {
		var c = state.account.credits;
		$("credits-included").textContent = c.included_remaining + " of " + c.included_allowance + " left";
		PF.clear($("credits-resets"));
		if (c.included_resets_at)
			$("credits-resets").appendChild(PF.timeEl(c.included_resets_at, true));
		else
			$("credits-resets").textContent = "Never (free plan)";
		$("credits-purchased").textContent = String(c.purchased_remaining) +
			(state.account.user.status === "suspended" ? " (frozen while the account is suspended)" : "");
	}

	function openRequestFor(kind, id) {
		return state.requests.some(function (r) { return r.status === "pending" && r[kind + "_id"] === id; });
	}

	/* Why a charge the form does not offer cannot be asked about, in the
	 * contract's order of checks. */
	function whyNot(charge) {
		var f = state.form;
		if (Date.parse(charge.refundable_until) <= Date.now())
			return "outside the " + f.window_days + "-day refund window (it closed on " + PF.date(charge.refundable_until) + ")";
		if (charge.status === "refunded")
			return "already refunded";
		if (openRequestFor("charge", charge.id))
			return "a refund request for it is already open";
		if (charge.status === "partially_refunded")
			return "already partly refunded; write to " + f.support_email + " about the rest";
		return "not open to a refund request";
	}

	function eligibleCharge(id) {
		return state.form.charges.some(function (c) { return c.id === id; });
	}

	function renderCharges() {
		var body = PF.clear($("charges").tBodies[0]);
		$("window-hint").textContent = "A charge can be refunded within " + state.form.window_days +
			" days when the refund policy covers it: a duplicate charge, a billing error, or a charge you did not authorize.";
		if (state.charges.length === 0)
			body.appendChild(el("tr", {}, el("td", {colspan: "5", text: "No charges yet."})));
		state.charges.forEach(function (c) {
			var ok = eligibleCharge(c.id);
			var refund = ok ?
				el("span", {"class": "eligible"}, "Eligible until ", PF.timeEl(c.refundable_until)) :
				el("span", {"class": "not-eligible", text: "Not eligible: " + whyNot(c)});
			body.appendChild(el("tr", {"data-charge-id": c.id, "data-eligible": ok ? "true" : "false"},
				el("td", {}, PF.timeEl(c.charged_at)),
				el("td", {text: c.description}),
				el("td", {text: PF.money(c.amount_cents, c.currency)}),
				el("td", {"class": "charge-status", text: c.status.replace("_", " ") +
					(c.status === "partially_refunded" ? " (" + PF.money(c.refunded_cents, c.currency) + ")" : "")}),
				el("td", {"class": "charge-refund"}, refund)));
		});
		var tasks = PF.clear($("tasks").tBodies[0]);
		if (state.form.tasks.length === 0)
			tasks.appendChild(el("tr", {}, el("td", {colspan: "5", text: "No failed tasks in the last " + state.form.window_days + " days."})));
		state.form.tasks.forEach(function (t) {
			tasks.appendChild(el("tr", {"data-task-id": t.id, "data-eligible": "true"},
				el("td", {}, PF.timeEl(t.failed_at, true)),
				el("td", {text: t.kind}),
				el("td", {text: String(t.credits)}),
				el("td", {text: t.failure_cause}),
				el("td", {"class": "eligible", text: "You may ask: support confirms platform failures"})));
		});
	}

	function field(name) {
		return state.form.fields.filter(function (f) { return f.name === name; })[0] || {name: name, required: false};
	}

	/* The form, built from GET /refund-form: its fields (required, maximum
	 * length), its reasons (which apply to a charge, which to a task, and
	 * which the policy excludes), and the charges and tasks that qualify. */
	function renderForm() {
		var f = state.form, box = PF.clear($("refund-fields"));
		$("refund-intro").textContent = "Ask within " + f.window_days + " days of the charge or the failed task. " +
			"We answer within " + f.response_business_days + " business days. Questions: " + f.support_email + ".";
		var item = el("select", {id: "refund-item", name: "item", required: true, "aria-describedby": "refund-item-hint",
			onchange: updateReasons});
		item.appendChild(el("option", {value: "", text: "Choose a charge or a task"}));
		var charges = el("optgroup", {label: "Charges"});
		state.charges.forEach(function (c) {
			var ok = eligibleCharge(c.id);
			var text = PF.date(c.charged_at) + " · " + c.description + " · " + PF.money(c.amount_cents, c.currency) +
				(ok ? "" : " (not eligible: " + whyNot(c) + ")");
			charges.appendChild(el("option", {value: "charge:" + c.id, disabled: !ok, text: text}));
		});
		item.appendChild(charges);
		if (f.tasks.length) {
			var tasks = el("optgroup", {label: "Failed tasks"});
			f.tasks.forEach(function (t) {
				tasks.appendChild(el("option", {value: "task:" + t.id,
					text: PF.date(t.failed_at) + " · " + t.kind + " task · " + t.credits + " credits"}));
			});
			item.appendChild(tasks);
		}
		box.appendChild(el("label", {"for": "refund-item", text: "What is it about?"}));
		box.appendChild(item);
		box.appendChild(el("p", {id: "refund-item-hint", "class": "hint",
			text: "Charges that cannot be refunded are listed but cannot be chosen; the billing history says why."}));

		box.appendChild(el("label", {"for": "refund-reason", text: "Reason"}));
		box.appendChild(el("select", {id: "refund-reason", name: "reason", required: field("reason").required}));

		var desc = field("description");
		box.appendChild(el("label", {"for": "refund-description", text: "What happened?" + (desc.required ? "" : " (optional)")}));
		box.appendChild(el("textarea", {id: "refund-description", name: "description", required: desc.required,
			maxlength: desc.max_length ? String(desc.max_length) : null, "aria-describedby": "refund-description-hint"}));
		box.appendChild(el("p", {id: "refund-description-hint", "class": "hint",
			text: "Up to " + (desc.max_length || 2000) + " characters."}));

		var email = field("email");
		box.appendChild(el("label", {"for": "refund-email", text: "Contact email" + (email.required ? "" : " (optional)")}));
		var emailInput = el("input", {id: "refund-email", name: "email", type: "email", autocomplete: "email",
			required: email.required, maxlength: email.max_length ? String(email.max_length) : null});
		emailInput.value = f.email || "";
		box.appendChild(emailInput);

		var list = PF.clear($("not-covered"));
		f.reasons.filter(function (r) { return !r.eligible; }).forEach(function (r) {
			list.appendChild(el("li", {}, el("strong", {text: r.label + ": "}), r.explanation || ""));
		});
		updateReasons();
	}

	function selectedItem() {
		var v = $("refund-item").value;
		if (!v)
			return null;
		var i = v.indexOf(":");
		return {kind: v.slice(0, i), id: v.slice(i + 1)};
	}

	/* Only the reasons that can succeed for the chosen kind of record. */
	function updateReasons() {
		var item = selectedItem(), select = $("refund-reason"), keep = select.value;
		PF.clear(select);
		select.appendChild(el("option", {value: "", text: "Choose a reason"}));
		state.form.reasons.filter(function (r) {
			return r.eligible && (!item || (r.applies_to || []).indexOf(item.kind) >= 0);
		}).forEach(function (r) {
			select.appendChild(el("option", {value: r.code, text: r.label}));
		});
		select.value = keep;
		if (select.value !== keep)
			select.value = "";
	}

	/* Checks what the page already knows before anything is sent; the
	 * service checks again and its answer is shown as it comes. */
	function refundProblem() {
		var item = selectedItem(), reason = $("refund-reason").value;
		var desc = $("refund-description").value, max = field("description").max_length || 2000;
		if (!item)
			return "Choose the charge or task the request is about.";
		if (item.kind === "charge" && !eligibleCharge(item.id)) {
			var charge = state.charges.filter(function (c) { return c.id === item.id; })[0];
			return "This charge cannot be refunded: " + (charge ? whyNot(charge) : "it is not yours") + ".";
		}
		if (item.kind === "task" && !state.form.tasks.some(function (t) { return t.id === item.id; }))
			return "This task cannot be refunded.";
		if (!reason)
			return "Choose a reason.";
		if (field("description").required && desc.trim() === "")
			return "Describe what happened.";
		if (Array.from(desc).length > max)
			return "The description is longer than " + max + " characters.";
		if (field("email").required && $("refund-email").value.trim() === "")
			return "Give an email address we can answer to.";
		return null;
	}

	function submitRefund(ev) {
		ev.preventDefault();
		var box = $("refund-error"), problem = refundProblem();
		if (problem) {
			PF.showError(box, {title: "Not sent.", detail: problem});
			$("refund-item").focus();
			return;
		}
		PF.showError(box, null);
		var item = selectedItem();
		var body = {reason: $("refund-reason").value, description: $("refund-description").value};
		body[item.kind + "_id"] = item.id;
		var email = $("refund-email").value.trim();
		if (email)
			body.email = email;
		var button = $("refund-submit");
		button.disabled = true;
		PF.api("POST", "/refund-requests", body).then(function (r) {
			return load().then(function () {
				PF.showStatus($("status"), r.status === "approved" ?
					"Refund approved: the charge is refunded." :
					"Request received. We will answer by " + PF.dateTime(r.respond_by) + ".");
			});
		}).catch(function (err) {
			PF.showError(box, err);
		}).then(function () {
			button.disabled = false;
		});
	}

	function itemText(r) {
		if (r.charge_id) {
			var c = state.charges.filter(function (x) { return x.id === r.charge_id; })[0];
			return c ? c.description + " (" + PF.date(c.charged_at) + ", " + PF.money(c.amount_cents, c.currency) + ")" : r.charge_id;
		}
		return "Task " + r.task_id;
	}

	function reasonLabel(code) {
		var r = state.form.reasons.filter(function (x) { return x.code === code; })[0];
		return r ? r.label : code;
	}

	function renderRequests() {
		var body = PF.clear($("requests").tBodies[0]);
		$("no-requests").hidden = state.requests.length > 0;
		state.requests.forEach(function (r) {
			body.appendChild(el("tr", {"data-request-id": r.id, "data-status": r.status},
				el("td", {}, PF.timeEl(r.submitted_at, true)),
				el("td", {text: itemText(r)}),
				el("td", {text: reasonLabel(r.reason)}),
				el("td", {"class": "request-status", text: r.status}),
				el("td", {}, r.status === "pending" ? PF.timeEl(r.respond_by, true) : "answered"),
				el("td", {text: r.decision_note || ""})));
		});
	}

	function withdraw(ev) {
		act(ev.target, function () { return PF.api("DELETE", "/subscription/scheduled-change"); }, function () {
			PF.showStatus($("status"), "The scheduled switch is withdrawn; your plan stays as it is.");
		});
	}

	document.addEventListener("DOMContentLoaded", function () {
		$("cancel-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			var body = {};
			if ($("cancel-reason").value)
				body.reason = $("cancel-reason").value;
			if ($("cancel-comment").value.trim())
				body.comment = $("cancel-comment").value.trim();
			act($("cancel-submit"), function () { return PF.api("POST", "/subscription/cancel", body); }, function (r) {
				PF.showStatus($("status"), "Cancelled. Your plan stays active until " +
					PF.date(r.subscription.current_period_end) + ".");
				$("resume").focus();
			});
		});
		$("resume").addEventListener("click", function (ev) {
			act(ev.target, function () { return PF.api("POST", "/subscription/resume"); }, function () {
				PF.showStatus($("status"), "Resumed: your subscription renews as before.");
				$("cancel-submit").focus();
			});
		});
		$("downgrade-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			var plan = $("downgrade-plan").value;
			act($("downgrade-submit"), function () { return PF.api("POST", "/subscription/downgrade", {plan: plan}); }, function (r) {
				PF.showStatus($("status"), "Scheduled: you switch to " + plan + " on " +
					PF.date(r.subscription.scheduled_change.effective_at) + ".");
				var w = $("withdraw-downgrade");
				if (w)
					w.focus();
			});
		});
		$("refund-form").addEventListener("submit", submitRefund);
		load().catch(fail);
	});
}());
