// rlbits: small layout helpers for reading on a phone (issue 16); see rlbits.css. No network, no dependencies.
(function () {
  "use strict";
  // Boxes that may scroll sideways: figures, tables, display equations.
  var SCROLLERS = ".rlbits-figure-scroll, .pst-scrollable-table-container, div.math, " +
    "mjx-container[jax='CHTML'][display='true']";

  function markOverflow() {
    var anchors = new Map();  // block -> does any box in it scroll sideways?
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var over = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("rlbits-overflows", over);
      // the hint goes under the whole block (an equation's block holds its number too)
      var anchor = box.closest("div.math") || box;
      anchors.set(anchor, Boolean(anchors.get(anchor)) || over);
    });
    anchors.forEach(function (over, anchor) {
      // a table may be long: its hint goes above it, where a reader meets it first; others go below
      var above = anchor.classList.contains("pst-scrollable-table-container");
      var next = above ? anchor.previousElementSibling : anchor.nextElementSibling;
      var hint = next && next.classList.contains("rlbits-scroll-hint") ? next : null;
      if (over && !hint) {
        hint = document.createElement("div");
        hint.className = "rlbits-scroll-hint";
        hint.setAttribute("aria-hidden", "true");
        hint.textContent = "\u2194 wider than the page: scroll sideways";
        anchor.insertAdjacentElement(above ? "beforebegin" : "afterend", hint);
      } else if (!over && hint) {
        hint.remove();
      }
    });
  }

  // The claims ledger (a table whose first two columns are Claim and Verdict) and any table with class rlbits-cards
  // become cards on a phone; each cell gets its column's name.
  function cardTables() {
    document.querySelectorAll("table").forEach(function (table) {
      var heads = Array.from(table.querySelectorAll("thead th")).map(function (th) {
        return th.textContent.trim();
      });
      if (heads[0] === "Claim" && heads[1] === "Verdict") table.classList.add("rlbits-cards");
      if (!table.classList.contains("rlbits-cards")) return;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.from(tr.children).forEach(function (td, i) {
          if (heads[i]) td.setAttribute("data-label", heads[i]);
        });
      });
    });
  }

  function afterMath(fn) {
    var t0 = Date.now();
    (function poll() {
      var mj = window.MathJax;
      if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(fn, fn);
      else if (Date.now() - t0 < 20000) setTimeout(poll, 100);
    })();
  }

  function start() {
    cardTables();
    markOverflow();
    afterMath(markOverflow);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(markOverflow, 150);
    });
    window.addEventListener("load", markOverflow);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
