// Widths from data attributes: an element with data-width="42" gets width: 42% (clamped to
// 0–100), e.g. a progress bar's fill. The Content-Security-Policy allows no style attribute in
// the markup (no style-src-attr 'unsafe-inline'); a width set through the CSSOM is allowed.
// Fragments htmx swaps in (polled rows, the run page's live part) are sized before they are
// painted: a MutationObserver's callback runs before the browser renders the change.
(function () {
  "use strict";

  var SELECTOR = "[data-width]";

  function size(element) {
    var value = parseFloat(element.getAttribute("data-width"));
    element.style.width = (isFinite(value) ? Math.min(100, Math.max(0, value)) : 0) + "%";
  }

  function sizeWithin(node) {
    if (node.nodeType !== Node.ELEMENT_NODE) { return; }
    if (node.matches(SELECTOR)) { size(node); }
    node.querySelectorAll(SELECTOR).forEach(size);
  }

  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      if (mutation.type === "attributes") {
        size(mutation.target);
      } else {
        mutation.addedNodes.forEach(sizeWithin);
      }
    });
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                         attributeFilter: ["data-width"]});

  sizeWithin(document.documentElement);
}());
