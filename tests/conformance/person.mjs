// The person at the browser, for the openid-client scripts: a cookie jar that behaves like a
// browser's (by name and path), and authd's forms read as a browser submits them.

/** HTML entities back to text, as a browser reads an attribute. */
export const unescape = (s) =>
  s.replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&#x2f;/g, '/')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The hidden fields of a page's forms, as [name, value] pairs. */
export const hidden = (html) =>
  [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
    unescape(m[1]),
    unescape(m[2]),
  ]);

/** A browser for `issuer`: `browse(url, init)` follows no redirect and keeps cookies;
 * `post(html, fields)` submits authd's authorization form with the page's hidden fields. */
export function person(issuer) {
  const jar = new Map();
  async function browse(url, init = {}) {
    const target = new URL(url);
    const headers = new Headers(init.headers || {});
    // Cookies by name and path, sent where their path covers the request's.
    const sent = [...jar]
      .map(([key, value]) => [...key.split('\u0000'), value])
      .filter(([, path]) => target.pathname.startsWith(path))
      .map(([name, , value]) => `${name}=${value}`);
    if (sent.length) headers.set('cookie', sent.join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';').map((part) => part.trim());
      const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) || '/';
      const at = pair.indexOf('=');
      const key = `${pair.slice(0, at)}\u0000${path}`;
      const value = pair.slice(at + 1);
      if (value === '' || attributes.some((a) => /^max-age=0$/i.test(a))) jar.delete(key);
      else jar.set(key, value);
    }
    return res;
  }
  async function post(html, fields) {
    return browse(new URL('/oauth/authorize', issuer), {
      method: 'POST',
      body: new URLSearchParams([...hidden(html), ...fields]),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
  return { browse, post };
}
