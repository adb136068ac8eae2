// taskboard dashboard behaviour that htmx does not cover: selection checkboxes,
// "select all matching the filter", dismissing toasts and the confirmation modal.
// Everything is delegated from document, so fragments swapped in by htmx just work.
(function () {
  "use strict";

  var TOAST_MS = 6000;

  function closest(el, selector) {
    return el && el.closest ? el.closest(selector) : null;
  }

  function section(el) {
    return closest(el, "section") || document;
  }

  function items(scope) {
    return Array.prototype.slice.call(scope.querySelectorAll("[data-select-item]"));
  }

  function refresh(scope) {
    var boxes = items(scope);
    var checked = boxes.filter(function (b) { return b.checked; }).length;
    var all = scope.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var counter = scope.querySelector("[data-selected-count]");
    if (counter) {
      counter.textContent = checked ? checked + " selected:" : "With selected:";
    }
    var banner = scope.querySelector("[data-select-banner]");
    if (banner) {
      var full = boxes.length > 0 && checked === boxes.length;
      banner.hidden = !full;
      if (!full) { setScope(scope, false); }
    }
  }

  function setScope(scope, matching) {
    var input = scope.querySelector("[data-scope]");
    if (input) { input.value = matching ? "filter" : "selected"; }
    var banner = scope.querySelector("[data-select-banner]");
    if (!banner) { return; }
    banner.querySelector("[data-banner-page]").hidden = matching;
    banner.querySelector("[data-select-matching]").hidden = matching;
    banner.querySelector("[data-banner-all]").hidden = !matching;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      var scope = section(target);
      items(scope).forEach(function (box) { box.checked = target.checked; });
      refresh(scope);
    } else if (target.matches("[data-select-item]")) {
      refresh(section(target));
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("[data-select-matching]")) {
      setScope(section(target), true);
    } else if (target.matches("[data-clear-selection]")) {
      var scope = section(target);
      items(scope).forEach(function (box) { box.checked = false; });
      setScope(scope, false);
      refresh(scope);
    } else if (target.matches("[data-dismiss='toast']")) {
      var toast = closest(target, ".toast");
      if (toast) { toast.remove(); }
    } else if (target.matches("[data-dismiss='modal']")) {
      var modal = closest(target, "#modal");
      if (modal) {
        event.preventDefault();
        modal.innerHTML = "";
      }
    } else if (target.matches(".modal-backdrop") && closest(target, "#modal")) {
      target.remove();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var modal = document.getElementById("modal");
      if (modal && modal.firstElementChild) { modal.innerHTML = ""; }
    }
  });

  // Success toasts fade out on their own; errors stay until dismissed.
  function schedule(root) {
    (root || document).querySelectorAll(".toast:not(.toast-error):not([data-scheduled])").forEach(function (toast) {
      toast.setAttribute("data-scheduled", "");
      setTimeout(function () { toast.remove(); }, TOAST_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { schedule(); });
  document.addEventListener("htmx:afterSettle", function () {
    schedule();
    // A swapped list starts with nothing selected.
    document.querySelectorAll("section").forEach(function (scope) {
      if (scope.querySelector("[data-select-all]")) { refresh(scope); }
    });
  });
  document.addEventListener("htmx:oobAfterSwap", function () { schedule(); });

  // An inline form error or an error toast arrives with a 4xx status on purpose. In DEBUG,
  // django-htmx's script (listening on document) would replace the page with it; stopping the
  // event at <body> keeps it from seeing these responses, while htmx swaps them as usual.
  document.body.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Taskboard-Fragment")) {
      event.stopPropagation();
    }
  });

  // The confirmation dialog arrives by htmx: move the focus to its default button.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "modal") {
      var button = event.detail.target.querySelector("[autofocus]");
      if (button) { button.focus(); }
    }
  });
}());
