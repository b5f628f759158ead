// keyward's small client-side helpers. Loaded as a file (the CSP forbids inline scripts); every
// page works without it, htmx and this only make actions happen in place.
(function () {
  "use strict";

  // Toasts dismiss themselves after a while, or on their close button.
  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    setTimeout(function () { toast.remove(); }, 8000);
  }
  document.addEventListener("click", function (event) {
    var close = event.target.closest(".toast-close");
    if (close) close.closest(".toast").remove();
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("#toasts .toast").forEach(arm);
  });

  // Copy buttons: copy the referenced field's value without showing it anywhere else.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
    }
  });

  // "Add all" and a table's header checkbox: check every box of the named field of the same form (boxes may
  // belong to it through their form attribute) that can be chosen, then say so with one change event, so
  // what listens (the key form's live summary) sees the result.
  function boxesOf(form, name) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.type === "checkbox" && el.name === name && !el.disabled;
    });
  }
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    if (!all || !all.form || event.detail === "check-all") return;
    var boxes = boxesOf(all.form, all.getAttribute("data-check-all"));
    boxes.forEach(function (box) { box.checked = all.checked; });
    if (boxes.length) boxes[boxes.length - 1].dispatchEvent(new CustomEvent("change", { bubbles: true, detail: "check-all" }));
  });

  // The bulk bar: "N selected", and Apply only once keys and an action are chosen. Without scripts the bar is
  // always there and the server explains what is missing.
  function bulkState() {
    var form = document.getElementById("bulk");
    if (!form) return;
    var boxes = boxesOf(form, "ids");
    var chosen = boxes.filter(function (b) { return b.checked; }).length;
    // "Select all N matching": offered once the whole page is chosen; unchoosing any key withdraws it.
    var matching = document.getElementById("bulk-matching");
    var offer = document.getElementById("select-matching");
    var wholePage = chosen > 0 && chosen === boxes.length;
    if (matching && !wholePage) matching.value = "";
    var all = matching && matching.value !== "";
    if (offer) offer.hidden = !wholePage || all;
    var count = document.getElementById("bulk-count");
    if (count) count.textContent = all ? "All " + matching.getAttribute("data-total") + " matching selected" : chosen === 0 ? "" : chosen + " selected";
    form.classList.toggle("has-selection", chosen > 0);
    var apply = form.querySelector("button[type=submit]");
    var action = form.querySelector("select[name=action]");
    if (apply) apply.disabled = chosen === 0 || !action || action.value === "";
    var page = document.getElementById("select-page");
    if (page) {
      page.checked = wholePage;
      page.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest("#select-matching")) return;
    var matching = document.getElementById("bulk-matching");
    matching.value = matching.getAttribute("data-query");
    bulkState();
    document.getElementById("bulk-action").focus();
  });
  document.addEventListener("change", function (event) {
    if (event.target.closest("#bulk, #keys-table")) bulkState();
  });
  document.addEventListener("DOMContentLoaded", bulkState);
  document.addEventListener("htmx:afterSettle", bulkState);

  // A revealed key disappears after its time.
  function hideLater(root) {
    root.querySelectorAll("[data-hide-after]").forEach(function (box) {
      if (box.dataset.armed) return;
      box.dataset.armed = "1";
      setTimeout(function () {
        var note = document.createElement("p");
        note.className = "muted";
        note.textContent = "The key is hidden again. Reload the page to view it once more.";
        box.replaceWith(note);
      }, Number(box.getAttribute("data-hide-after")) * 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { hideLater(document); });
  document.addEventListener("htmx:afterSwap", function (event) { hideLater(event.target.parentNode || document); });

  // Dialogs (the show-once key, a revealed key) are rendered open, so they work without scripts, and made
  // modal here: the page behind goes inert, Tab and Shift+Tab cycle inside, Escape or "Done" closes.
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([type="hidden"]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  function openModals(root) {
    root.querySelectorAll("dialog[data-modal][open]").forEach(function (dialog) {
      if (dialog.matches(":modal")) return;
      dialog.close();
      dialog.showModal();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { openModals(document); });
  document.addEventListener("htmx:afterSwap", function (event) { openModals(event.target.parentNode || document); });
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
    var show = event.target.closest("[data-show-dialog]");
    var dialog = show && document.getElementById(show.getAttribute("data-show-dialog"));
    if (dialog && !dialog.open) dialog.showModal();
  });
  document.addEventListener("keydown", function (event) {
    var dialog = event.key === "Tab" && document.querySelector("dialog:modal");
    if (!dialog) return;
    var items = Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.getClientRects().length > 0;
    });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], at = document.activeElement;
    var outside = !dialog.contains(at);
    if (event.shiftKey && (at === first || outside)) {
      last.focus();
      event.preventDefault();
    } else if (!event.shiftKey && (at === last || outside)) {
      first.focus();
      event.preventDefault();
    }
  });
  // "close" does not bubble: listen while it travels down. A revealed key leaves the page with its dialog;
  // the show-once dialog stays (hidden) so "Show the key again" can reopen it, and gets the focus back.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    // Making a rendered-open dialog modal closes it first: that close is no one's.
    if (!(dialog instanceof HTMLDialogElement) || dialog.open) return;
    var again = dialog.id && document.querySelector('[data-show-dialog="' + dialog.id + '"]');
    if (dialog.hasAttribute("data-forget-on-close")) dialog.remove();
    if (again) again.focus();
  }, true);

  // Menus and confirmations are disclosures (they work without scripts); here a click elsewhere or Escape
  // closes an open one, as people expect of a menu.
  var POPUPS = "details.kw-menu[open], details.confirm[open]";
  document.addEventListener("click", function (event) {
    document.querySelectorAll(POPUPS).forEach(function (open) {
      if (!open.contains(event.target)) open.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(POPUPS).forEach(function (open) {
      open.removeAttribute("open");
      var summary = open.querySelector("summary");
      if (summary && open.contains(document.activeElement)) summary.focus();
    });
  });

  // A table wider than the screen scrolls in its own box; that box joins the Tab order (and is named by its
  // table) only while it does scroll, so keyboard users can scroll it too.
  function scrollable() {
    document.querySelectorAll(".table-scroll, .table-wrap, .overflow-auto, pre.snippet").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) {
        var table = box.querySelector("table");
        var caption = table && table.querySelector("caption");
        var fallback = box.tagName === "PRE" ? "Code" : "Table";
        var name = (table && table.getAttribute("aria-label")) || (caption && caption.textContent) || fallback;
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", name.trim() + " (scrolls sideways)");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", scrollable);
  document.addEventListener("htmx:afterSettle", scrollable);
  window.addEventListener("resize", scrollable);

  // A network failure gets a toast too, rather than silence.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-error";
    toast.setAttribute("role", "alert");
    toast.textContent = "The server could not be reached. Nothing was changed.";
    box.appendChild(toast);
    arm(toast);
  });
})();

// Upload progress: a <progress class="htmx-indicator"> inside an uploading form follows the bytes sent.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest && event.target.closest("form");
  var bar = form && document.getElementById("upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});
