// Mail Sandbox inbox: live list, title and mailbox switcher, local times, keyboard-friendly
// tabs, the HTML preview's width toggle, the link check and the "Delete all" question.
// Served as a static file because the pages' CSP forbids inline script. Every URL of our own
// comes from the page, which knows the mailbox (/m/NAME/) it belongs to.
(() => {
  "use strict";

  // Pages of this inbox in other tabs tell the open lists that read flags changed.
  const CHANNEL = "mail-sandbox";
  const WIDTH_KEY = "mail-sandbox:preview-width";

  const openChannel = () => ("BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null);

  // Storage can be switched off (or throw) in private windows; the toggle still works then.
  const remembered = (key) => {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null;
    }
  };
  const remember = (key, value) => {
    try {
      window.localStorage.setItem(key, value);
    } catch {
      // Only the memory across reloads is lost.
    }
  };

  // Lists show compact times (today: the time; this year: day and time); elsewhere in full.
  const localizeTimes = (root) => {
    const now = new Date();
    for (const el of root.querySelectorAll("time[datetime]")) {
      const moment = new Date(el.dateTime);
      if (Number.isNaN(moment.getTime())) continue;
      el.title = moment.toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" });
      let style = { dateStyle: "medium", timeStyle: "short" };
      if (el.closest(".messages")) {
        if (moment.toDateString() === now.toDateString()) {
          style = { timeStyle: "short" };
        } else if (moment.getFullYear() === now.getFullYear()) {
          style = { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
        } else {
          style = { dateStyle: "medium" };
        }
      }
      el.textContent = moment.toLocaleString(undefined, style);
    }
  };

  // The switcher as the fragment renders it, with fresh counts. An open menu stays open and
  // the focus stays on the entry it was on, so a refresh never pulls it from under the user.
  const swapSwitcher = (parsed) => {
    const current = document.getElementById("mailbox-switcher");
    const fresh = parsed.getElementById("mailbox-switcher");
    if (!current || !fresh) return;
    const menu = current.querySelector("details");
    const freshMenu = fresh.querySelector("details");
    if (menu && freshMenu) freshMenu.open = menu.open;
    const focused = current.contains(document.activeElement) ? document.activeElement : null;
    current.replaceWith(document.adoptNode(fresh));
    if (!focused) return;
    const href = focused.getAttribute("href");
    const target = href
      ? [...fresh.querySelectorAll("a[href]")].find((link) => link.getAttribute("href") === href)
      : fresh.querySelector("summary");
    target?.focus();
  };

  // The switcher's menu closes with Escape (focus back on its button) and on a click
  // elsewhere. Listening on the document: a live refresh replaces the menu's elements.
  const switcherMenu = () => {
    const openMenu = () => document.querySelector("#mailbox-switcher details[open]");
    document.addEventListener("keydown", (event) => {
      const menu = openMenu();
      if (event.key !== "Escape" || !menu || !menu.contains(event.target)) return;
      menu.open = false;
      menu.querySelector("summary").focus();
    });
    document.addEventListener("click", (event) => {
      const menu = openMenu();
      if (menu && !menu.contains(event.target)) menu.open = false;
    });
  };

  // Re-reads the list fragment (rendered and escaped by the server) and swaps it in, with
  // the mailbox switcher that comes with it.
  // Refreshes never overlap; one arriving mid-flight schedules exactly one more.
  const liveInbox = () => {
    let running = false;
    let again = false;
    const refresh = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const current = document.getElementById("inbox");
          const response = await fetch(current.dataset.fragment, { cache: "no-store" });
          if (!response.ok && response.status !== 400) break;
          const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
          const fresh = parsed.getElementById("inbox");
          if (!fresh) break;
          localizeTimes(fresh);
          current.replaceWith(document.adoptNode(fresh));
          document.title = fresh.dataset.title;
          swapSwitcher(parsed);
        } while (again);
      } catch (error) {
        console.warn("Could not refresh the inbox:", error);
      } finally {
        running = false;
      }
    };

    const status = document.getElementById("live-status");
    const setState = (state, text) => {
      document.documentElement.dataset.live = state;
      if (status) status.textContent = text;
    };
    const events = new EventSource(document.getElementById("inbox").dataset.events);
    // Re-reading on every (re)connect picks up whatever arrived while disconnected.
    events.addEventListener("open", () => {
      setState("connected", "Live");
      refresh();
    });
    events.addEventListener("new", refresh);
    events.addEventListener("error", () => setState("reconnecting", "Reconnecting…"));

    // Reads happen elsewhere: a message opened in another tab says so on the channel; a
    // tab coming back into view, or restored from the back/forward cache, may be stale.
    const channel = openChannel();
    if (channel) channel.addEventListener("message", refresh);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") refresh();
    });
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) refresh();
    });
  };

  // Phone / tablet / full width for the email's iframe, remembered across pages and reloads.
  const previewWidths = (group) => {
    const stage = group.parentElement.querySelector(".preview-stage");
    const buttons = [...group.querySelectorAll("button[data-width]")];
    const apply = (width) => {
      const known = buttons.some((button) => button.dataset.width === width);
      const chosen = known ? width : "full";
      stage.dataset.width = chosen;
      for (const button of buttons) {
        button.setAttribute("aria-pressed", String(button.dataset.width === chosen));
      }
    };
    for (const button of buttons) {
      button.addEventListener("click", () => {
        apply(button.dataset.width);
        remember(WIDTH_KEY, button.dataset.width);
      });
    }
    apply(remembered(WIDTH_KEY));
    group.hidden = false;
  };

  // One row of the link check: a result word (so errors are marked in words, not only in
  // colour), the URL, the status code and the status text. Built with textContent: the URLs
  // come from the email.
  const linkRow = (link) => {
    const code = Number(link.StatusCode) || 0;
    const status = String(link.Status ?? "");
    let kind = "ok";
    let word = code >= 300 && code < 400 ? "Redirect" : "OK";
    if (code === 0 && status.startsWith("skipped")) {
      kind = "skipped";
      word = "Skipped";
    } else if (code === 0 || code >= 400) {
      kind = "error";
      word = "Error";
    }
    const row = document.createElement("tr");
    row.className = kind;
    const cell = (className) => {
      const td = document.createElement("td");
      td.className = className;
      row.append(td);
      return td;
    };
    const badge = document.createElement("span");
    badge.className = "result";
    badge.textContent = word;
    cell("col-result").append(badge);
    const url = String(link.URL ?? "");
    const urlCell = cell("col-url");
    if (/^https?:\/\//i.test(url)) {
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.target = "_blank";
      anchor.rel = "noreferrer noopener";
      anchor.textContent = url;
      urlCell.append(anchor);
    } else {
      urlCell.textContent = url;
    }
    cell("col-code").textContent = code ? String(code) : "—";
    cell("col-status-text").textContent = status;
    return row;
  };

  // Skipped links were never contacted, so they are counted apart from the checked ones,
  // with the reasons they were skipped for.
  const linkSummary = (result) => {
    if (!result.Links.length) return "This message has no links to check.";
    const errors = Number(result.Errors) || 0;
    const reasons = result.Links.filter(
      (link) => !Number(link.StatusCode) && String(link.Status ?? "").startsWith("skipped"),
    ).map((link) => String(link.Status).replace(/^skipped:?\s*/, ""));
    const checked = result.Links.length - reasons.length;
    const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;
    let text = `${plural(checked, "link")} checked`;
    if (checked) text += ` (${plural(errors, "error")})`;
    if (reasons.length) {
      const why = [...new Set(reasons.filter(Boolean))].join("; ");
      text += `, ${reasons.length} skipped${why ? ` (${why})` : ""}`;
    }
    return `${text}.`;
  };

  // The "Check links" button asks the API (same origin) and shows each link's answer.
  const linkCheck = (button) => {
    const section = document.getElementById(button.getAttribute("aria-controls"));
    const status = section.querySelector(".link-check-status");
    const table = section.querySelector(".link-results");
    const body = table.tBodies[0];
    button.addEventListener("click", async () => {
      button.disabled = true;
      section.hidden = false;
      section.setAttribute("aria-busy", "true");
      status.classList.remove("error");
      status.textContent = "Checking links…";
      table.hidden = true;
      try {
        const response = await fetch(button.dataset.url, {
          cache: "no-store",
          headers: { Accept: "application/json" },
        });
        const result = await response.json().catch(() => null);
        if (!response.ok || !result || !Array.isArray(result.Links)) {
          const reason = result && result.Error ? result.Error : `status ${response.status}`;
          throw new Error(reason);
        }
        body.replaceChildren(...result.Links.map(linkRow));
        table.hidden = result.Links.length === 0;
        status.textContent = linkSummary(result);
      } catch (error) {
        status.classList.add("error");
        status.textContent = `Could not check the links: ${error.message}`;
      } finally {
        section.removeAttribute("aria-busy");
        button.disabled = false;
      }
    });
    button.hidden = false;
  };

  // The disclosure works without script; this adds a Cancel button and Escape to close it,
  // and puts the focus where the next key press is harmless.
  const confirmPanel = (details) => {
    const summary = details.querySelector("summary");
    const cancel = details.querySelector("[data-cancel]");
    const close = () => {
      details.open = false;
      summary.focus();
    };
    cancel.addEventListener("click", close);
    details.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    details.addEventListener("toggle", () => {
      if (details.open) cancel.focus();
    });
    cancel.hidden = false;
  };

  const tabs = (tablist) => {
    const all = [...tablist.querySelectorAll('[role="tab"]')];
    const select = (tab) => {
      for (const other of all) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        other.tabIndex = selected ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
      }
      const url = new URL(window.location.href);
      url.searchParams.set("tab", tab.id.replace(/^tab-/, ""));
      window.history.replaceState(null, "", url);
    };
    all.forEach((tab, index) => {
      tab.addEventListener("click", (event) => {
        event.preventDefault();
        select(tab);
      });
      tab.addEventListener("keydown", (event) => {
        const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: all.length - 1 };
        if (!(event.key in moves)) return;
        event.preventDefault();
        const next = all[(moves[event.key] + all.length) % all.length];
        select(next);
        next.focus();
      });
    });
  };

  localizeTimes(document);
  if (document.getElementById("mailbox-switcher")) switcherMenu();
  if (document.getElementById("inbox")) liveInbox();
  for (const tablist of document.querySelectorAll('[role="tablist"]')) tabs(tablist);
  for (const group of document.querySelectorAll(".preview-widths")) previewWidths(group);
  for (const details of document.querySelectorAll("details.confirm")) confirmPanel(details);
  const checkLinks = document.getElementById("check-links");
  if (checkLinks) linkCheck(checkLinks);
  // Opening a message marked it read on the server before this page was sent.
  if (document.querySelector("article.message")) openChannel()?.postMessage("read");
})();
