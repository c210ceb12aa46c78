// AsyncQueue dashboard: live updates (polling htmx fragments), the switch that stops
// them, select-all checkboxes, and a notice when the server can't be reached.
// No inline script anywhere: the Content-Security-Policy allows only this file and htmx.
(function () {
  "use strict";
  var KEY = "asyncqueue-live";
  var body = document.body;
  document.documentElement.classList.add("js");
  var seconds = parseFloat(body.getAttribute("data-poll-seconds")) || 5;

  function liveOn() {
    try { return window.localStorage.getItem(KEY) !== "off"; } catch (e) { return true; }
  }

  function busy(element) {
    // Don't swap away what the operator is working on: ticked rows, a focused field. A
    // focused message (focus.js puts the focus there after an action) is only being read.
    var active = document.activeElement;
    return element.querySelector("input[type=checkbox]:checked") !== null ||
      element.contains(active) && active !== body && !active.classList.contains("flash");
  }

  function poll() {
    if (!liveOn() || document.hidden || !window.htmx) { return; }
    document.querySelectorAll("[data-poll]").forEach(function (element) {
      if (!busy(element)) { window.htmx.trigger(element, "poll"); }
    });
  }

  window.setInterval(poll, seconds * 1000);
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
})();
