// AsyncQueue dashboard: live updates (polling htmx fragments, merged into the page by
// idiomorph), the switch that stops them, select-all checkboxes, times in the reader's
// own zone, and a notice when the server can't be reached.
// No inline script anywhere: the Content-Security-Policy allows only this file and htmx.
(function () {
  "use strict";
  var KEY = "asyncqueue-live";
  var body = document.body;
  document.documentElement.classList.add("js");
  var seconds = parseFloat(body.getAttribute("data-poll-seconds")) || 5;
  // True while a poll's answer is merged in (the merge runs within htmx's swap).
  var polling = false;

  function liveOn() {
    try { return window.localStorage.getItem(KEY) !== "off"; } catch (e) { return true; }
  }

  function busy(element) {
    // A confirmation the operator has open is not in the polled page: wait for an answer.
    return element.querySelector("[role=alertdialog]") !== null;
  }

  // A poll merges the new page into the old one: what the operator is doing stays as it
  // is (ticked rows, typed text, open tracebacks, focus, selection, scroll).
  if (window.Idiomorph) {
    // (Not ignoreActiveValue: it also leaves the focused element's children as they were,
    // so a clicked "Pause" button would keep its text after the job was paused.)
    window.Idiomorph.defaults.callbacks.beforeAttributeUpdated = function (name, element) {
      if (name === "open" && element.tagName === "DETAILS") { return false; }
      if (name === "checked" && element.type === "checkbox") { return false; }
      if (name === "value" && element.tagName === "INPUT" && element.type !== "hidden" &&
          element.type !== "checkbox" && element.form) { return false; }
      return true;
    };
    // The message of the operator's last action stays until their next one: a poll's
    // page has none, and would take it (and the focus on it) away a moment after. (Its
    // id keeps it from being merged into another element instead.)
    window.Idiomorph.defaults.callbacks.beforeNodeRemoved = function (node) {
      return !(polling && node.classList && node.classList.contains("flashes"));
    };
    window.Idiomorph.defaults.callbacks.beforeNodeMorphed = function (old, fresh) {
      // A time already shown in the reader's zone stays as it is while it is the same time.
      return !(old.tagName === "TIME" && old.hasAttribute("data-local") &&
               old.getAttribute("datetime") === fresh.getAttribute("datetime"));
    };
  }

  function poll() {
    if (!liveOn() || document.hidden || !window.htmx) { return; }
    document.querySelectorAll("[data-poll]").forEach(function (element) {
      if (!busy(element)) { window.htmx.trigger(element, "poll"); }
    });
  }

  window.setInterval(function () { poll(); localTimes(document); }, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { poll(); }
  });

  var toggle = document.getElementById("live-switch");
  if (toggle) {
    var box = toggle.querySelector("input");
    box.checked = liveOn();
    toggle.hidden = false;
    box.addEventListener("change", function () {
      try { window.localStorage.setItem(KEY, box.checked ? "on" : "off"); } catch (e) { /* private mode */ }
      if (box.checked) { poll(); }
    });
  }

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) { return; }
    all.form.querySelectorAll("input[name=job]").forEach(function (box) { box.checked = all.checked; });
  });

  var notice = document.getElementById("notice");
  function say(text) {
    if (notice) { notice.textContent = text; notice.hidden = !text; }
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "?";
    say("The server answered " + status + "; the page may be out of date. Reload to see why.");
  });
  document.addEventListener("htmx:sendError", function () {
    say("The dashboard can't reach the server; live updates will resume when it answers.");
  });
  document.addEventListener("htmx:afterSwap", function () { say(""); });

  // A poll sent before the operator's own request (a page link, "show them", an action)
  // must not land after it and merge the older page back.
  var lastOwnSwap = 0;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var xhr = event.detail.xhr;
    xhr.aqSentAt = performance.now();
    xhr.aqPoll = event.detail.elt.hasAttribute("data-poll");
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.aqPoll && xhr.aqSentAt < lastOwnSwap) { event.detail.shouldSwap = false; }
    polling = Boolean(xhr && xhr.aqPoll);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && !xhr.aqPoll) { lastOwnSwap = performance.now(); }
    polling = false;
  });

  // A bad filter comes back (400) as the form with the problem next to its field.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (detail.xhr && detail.xhr.status === 400 && detail.target && detail.target.id === "jobs") {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // Times: the server writes UTC; here they read "3 min ago", the exact time in the
  // reader's own zone on hover.
  var zone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "local time";
  var exact = new Intl.DateTimeFormat("en-GB", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false, timeZoneName: "short"
  });

  function exactTime(date) {
    var part = {};
    exact.formatToParts(date).forEach(function (p) { part[p.type] = p.value; });
    return part.year + "-" + part.month + "-" + part.day + " " + part.hour + ":" + part.minute +
      ":" + part.second + " " + part.timeZoneName + " (" + zone + ")";
  }

  function relative(date) {
    var s = Math.round((Date.now() - date.getTime()) / 1000);
    var past = s >= 0, text;
    s = Math.abs(s);
    if (s < 5) { return "just now"; }
    if (s < 60) { text = s + " s"; }
    else if (s < 3600) { text = Math.floor(s / 60) + " min"; }
    else if (s < 48 * 3600) { text = Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min"; }
    else { text = Math.floor(s / 86400) + " d " + Math.floor(s % 86400 / 3600) + " h"; }
    return past ? text + " ago" : "in " + text;
  }

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (time) {
      var date = new Date(time.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      time.textContent = relative(date);
      time.title = exactTime(date);
      time.setAttribute("data-local", "");
    });
    root.querySelectorAll("[data-zone]").forEach(function (label) {
      label.textContent = "(" + zone + " on hover)";
    });
  }
  localTimes(document);
  document.addEventListener("htmx:afterSettle", function () { localTimes(document); });

  // The navigation marks the page shown, also after a filter changed the address.
  function markNavigation() {
    var here = new URL(window.location.href);
    document.querySelectorAll(".top nav a").forEach(function (link) {
      var target = new URL(link.href);
      var exactOnly = target.pathname.slice(-1) === "/";
      var samePage = here.pathname === target.pathname;
      var under = !exactOnly && here.pathname.indexOf(target.pathname + "/") === 0;
      var failed = samePage && here.searchParams.get("state") === "failed";
      var current = (samePage || under) && (target.searchParams.get("state") === "failed") === failed;
      if (current) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
  }
  document.addEventListener("htmx:pushedIntoHistory", markNavigation);
})();
