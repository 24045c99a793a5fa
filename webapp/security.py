"""Security headers on every response, and a server that does not name its software."""
from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler, run_simple

SERVER = "PlanFlow"

# No inline script anywhere (pages load their scripts from /static); bpmn-js, form-js and
# dmn-js set inline styles and data: images, so styles and images allow those.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class PlanFlowRequestHandler(WSGIRequestHandler):
    """The development server's handler, minus the Werkzeug and Python versions in `Server`."""

    def version_string(self) -> str:
        return SERVER

    def send_response(self, code, message=None):
        # As http.server does, minus its own Server header: the app's response carries one.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def serve(app, host: str, port: int, reload: bool = False) -> None:
    """Serve `app` with the handler above (`planflow serve --dev`)."""
    run_simple(host, port, app, request_handler=PlanFlowRequestHandler, threaded=True, use_reloader=reload)


def init_app(app) -> None:
    @app.after_request
    def security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers["Server"] = SERVER
        return response
