// Live updates: htmx polls ("hx-trigger: every 2s") only while the tab is visible and the
// operator has not paused them. The choice is kept in localStorage, so it holds across pages,
// reloads and other tabs. Polls are held back in htmx:beforeRequest rather than with
// hx-trigger filters ("every 2s [cond]"), which htmx evaluates with eval: the
// Content-Security-Policy allows none (htmx-config allowEval is false).
(function () {
  "use strict";

  var KEY = "taskboard.live";
  var root = document.documentElement;
  var held = 0;

  function paused() {
    try {
      return window.localStorage.getItem(KEY) === "paused";
    } catch (error) {
      return false;  // storage disabled: always live
    }
  }

  function render() {
    var isPaused = paused();
    root.toggleAttribute("data-live-paused", isPaused);
    document.querySelectorAll("[data-live-toggle]").forEach(function (button) {
      button.textContent = isPaused ? "Resume updates" : "Pause updates";
    });
  }

  function setPaused(value) {
    try {
      if (value) {
        window.localStorage.setItem(KEY, "paused");
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (error) { /* storage disabled: nothing to keep */ }
    render();
  }

  function isPoll(element) {
    var trigger = element && element.getAttribute ? element.getAttribute("hx-trigger") : null;
    return !!trigger && /(^|,)\s*every\s/.test(trigger);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isPoll(event.detail.elt) && (paused() || document.visibilityState !== "visible")) {
      event.preventDefault();
      held += 1;
      root.setAttribute("data-held-polls", String(held));  // tests wait on this state
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-live-toggle]") : null;
    if (button) {
      setPaused(!paused());
    }
  });

  // Another tab paused or resumed: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) { render(); }
  });

  window.taskboardLive = { toggle: function () { setPaused(!paused()); } };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
}());
