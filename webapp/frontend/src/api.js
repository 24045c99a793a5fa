// JSON requests to the plan endpoints the page names in its data attributes.

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

/** GET url; resolves to {status, ok, body} with body parsed as JSON (null when it is not JSON). */
export function getJSON(url) {
  return send(url, { method: 'GET', headers: { Accept: 'application/json' } });
}

/** POST data as JSON with the page's CSRF token; resolves like getJSON. */
export function postJSON(url, data) {
  return send(url, {
    method: 'POST',
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'X-CSRFToken': csrfToken(),
    },
    body: JSON.stringify(data),
  });
}

async function send(url, init) {
  const response = await fetch(url, { credentials: 'same-origin', ...init });
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  return { status: response.status, ok: response.ok, body };
}

/** The error message of a `{"error": {"code", "message"}}` body, or a fallback naming the status. */
export function errorMessage(result, fallback) {
  const error = result.body && result.body.error;
  return (error && error.message) || fallback;
}
