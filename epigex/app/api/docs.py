"""The interactive API docs (Swagger UI and ReDoc) served with their assets from the installed package.

FastAPI's default pages load Swagger UI from a CDN, so ``/docs`` is blank on a machine without internet. The
assets here come from the ``fastapi-offline`` distribution (Swagger UI 5, ReDoc), mounted under
``/docs-static`` (ReDoc's script with its one CDN logo pointed at the local favicon); nothing on these pages is
fetched from anywhere but this server.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from epigex.app.api.deps import Public

STATIC_URL = "/docs-static"
# ReDoc's sidebar shows a logo from Redocly's CDN; here it is the package's own favicon (nothing leaves the host)
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = STATIC_URL + "/favicon.png"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and their static assets to an app built without them."""
    static = files("fastapi_offline") / "static"
    app.mount(STATIC_URL, StaticFiles(directory=str(static)), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False, dependencies=[Public])
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API",
            oauth2_redirect_url=f"{root}{redirect}",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get(redirect, include_in_schema=False, dependencies=[Public])
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Public])
    async def favicon() -> FileResponse:
        return FileResponse(str(static / "favicon.png"), media_type="image/png")

    redoc_js = (static / "redoc.standalone.js").read_text().replace(REDOCLY_LOGO, LOCAL_LOGO)

    @app.get("/docs-redoc.js", include_in_schema=False, dependencies=[Public])
    async def redoc_script() -> Response:
        return Response(redoc_js, media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False, dependencies=[Public])
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API reference",
            redoc_js_url=f"{root}/docs-redoc.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
