// A small client-side router over the History API: every page has a real
// URL (the server answers index.html for each), so reload and pasted links
// work.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  listeners.forEach((fn) => fn());
}

window.addEventListener('popstate', () => listeners.forEach((fn) => fn()));

// The current location as {path, params}; re-renders on navigation.
export function useLocation() {
  const read = () => ({ path: location.pathname, params: new URLSearchParams(location.search) });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const fn = () => setLoc(read());
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return loc;
}

// Makes same-origin <a> clicks navigate without a reload.
export function interceptLinks(root) {
  root.addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a || a.target || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/v1/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
