// Mail Sandbox inbox: live list updates, local times and keyboard-friendly tabs.
// Served as a static file because the pages' CSP forbids inline script.
(() => {
  "use strict";

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

  // Re-reads the list fragment (rendered and escaped by the server) and swaps it in.
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
    const events = new EventSource("/api/events");
    // Re-reading on every (re)connect picks up whatever arrived while disconnected.
    events.addEventListener("open", () => {
      setState("connected", "Live");
      refresh();
    });
    events.addEventListener("new", refresh);
    events.addEventListener("error", () => setState("reconnecting", "Reconnecting…"));
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
  if (document.getElementById("inbox")) liveInbox();
  for (const tablist of document.querySelectorAll('[role="tablist"]')) tabs(tablist);
})();
