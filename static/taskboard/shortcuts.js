// Keyboard shortcuts: "g" then a letter opens a page (the nav links carry them as
// data-shortcut="g o", rendered from one list in templatetags/taskboard_nav.py), "?" shows them,
// "/" focuses the page's search or filter field, "p" pauses live updates. None fires while the
// operator types in a field, holds a modifier, or has a dialog open.
(function () {
  "use strict";

  var PREFIX_MS = 1500;  // how long "g" waits for its second key
  var prefix = null;
  var timer = null;

  function typing(target) {
    return !!(target && target.closest &&
              target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])"));
  }

  function dialogOpen() {
    return !!document.querySelector("dialog[open], #modal [role='dialog']");
  }

  function help() {
    return document.getElementById("shortcuts");
  }

  function openHelp() {
    var dialog = help();
    if (dialog && !dialog.open) { dialog.showModal(); }
  }

  function go(keys) {
    var links = document.querySelectorAll("[data-shortcut]");
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("data-shortcut") === keys) {
        window.location.assign(links[i].href);
        return true;
      }
    }
    return false;
  }

  // The page's search box, else its first filter field (never a hidden input).
  var SEARCH_FIELDS = ["main input[type='search']", "main .filters input:not([type='hidden'])", "main .filters select"];

  function focusSearch() {
    for (var i = 0; i < SEARCH_FIELDS.length; i++) {
      var field = document.querySelector(SEARCH_FIELDS[i]);
      if (field) {
        field.focus();
        return true;
      }
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing ||
        typing(event.target) || dialogOpen()) {
      prefix = null;
      return;
    }
    var key = event.key;
    if (prefix) {
      var handled = go(prefix + " " + key);
      prefix = null;
      window.clearTimeout(timer);
      if (handled) { event.preventDefault(); }
      return;
    }
    if (key === "g") {
      prefix = "g";
      timer = window.setTimeout(function () { prefix = null; }, PREFIX_MS);
    } else if (key === "?") {
      event.preventDefault();
      openHelp();
    } else if (key === "/") {
      if (focusSearch()) { event.preventDefault(); }
    } else if (key === "p" && window.taskboardLive && document.querySelector("[data-live-toggle]")) {
      window.taskboardLive.toggle();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) {
      openHelp();
    }
  });
}());
