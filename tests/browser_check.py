"""Open the built book in headless Chromium, take screenshots, fail on what a reader would see.

Run after ``jupyter-book build``::

    python -m tests.browser_check _build/html [--toc _toc.yml] [--screenshots _build/screenshots]

The site is served on a free localhost port by ``http.server`` in a thread. Every page of
``_toc.yml`` (the introduction, the prose pages and every chapter) is opened in a fresh tab
of one headless Chromium, driven through the Chrome DevTools Protocol over
``--remote-debugging-pipe`` (JSON messages on file descriptors 3 and 4), so no Python
package and no browser download is needed: only a Chromium on the PATH (Debian's
``chromium``, which ``.ci/run`` installs), or the one named by ``$CHROMIUM``.

For each page it waits for the load, for MathJax to finish typesetting
(``MathJax.startup.promise``), for the fonts and for the network to go quiet, saves a
full-page screenshot to ``<screenshots>/<page>.png`` (the folder is emptied first if the
book made it, and refused if it holds anything else: :func:`helpers.cache.owned_folder`)
and fails when

- a request failed, or was answered with an HTTP status of 400 or more;
- a request went to a host other than localhost (the book must render offline);
- an ``<img>`` is broken (``naturalWidth == 0``);
- TeX is visible as text: ``$$``, ``\\begin{``, ``$...\\cmd...$`` outside code, or any
  ``\\command`` left in an element of class ``math``; or a page has math but no
  ``mjx-container`` (MathJax did not run), or MathJax reports a TeX error (``mjx-merror``);
- the page throws an uncaught JavaScript exception;
- an image has no alt text, or a file name as its alt text;
- a reader would have to scroll sideways: a code block, output or table wider than its box
  (``scrollWidth`` above ``clientWidth``; folded cells are opened to be measured), or a
  page wider than the 1280-px window. The window shows an ordinary 15-px scrollbar, as on
  most desktops (not the overlay kind, which takes no width), so the code column is as
  narrow as a reader's.

It prints one line per page and exits with status 1 if any page failed.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.check_site import toc_docnames

BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
#: The reader's window, in px, with an ordinary scrollbar of SCROLLBAR_WIDTH px.
WINDOW_WIDTH = 1280
SCROLLBAR_WIDTH = 15
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
    "--mute-audio", "--force-device-scale-factor=1", f"--window-size={WINDOW_WIDTH},900",
    "--remote-debugging-pipe",
]  # fmt: skip
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Uncaught JavaScript errors that are known, understood and harmless; anything else fails.
KNOWN_JS_ERRORS = {
    # sphinx-thebe 0.3.1 (which Jupyter Book 1 always loads) adds its inline configuration
    # script with app.add_js_file(None, body=...); under Sphinx 7.4 it lands in every page
    # twice, and the second copy re-declares its constants. The first copy works, and the
    # book does not enable thebe (no "Live code" button), so readers see no difference.
    "Identifier 'THEBE_JS_URL' has already been declared",
}
PAGE_TIMEOUT_S = 60.0
QUIET_S = 0.5  # the network counts as idle after this long without a request in flight

# Runs in the page once it has loaded: waits for MathJax, images and fonts, then inspects
# the DOM. Returns a JSON-able summary.
INSPECT_PAGE = r"""
(async () => {
  const mathElements = [...document.querySelectorAll(".math")];
  const hasMathJax = !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise);
  if (hasMathJax) { await window.MathJax.startup.promise; }
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map((img) => img.decode().catch(() => null)));
  await document.fonts.ready;

  const skip = "script, style, pre, code, textarea, mjx-container, .highlight";
  const rawTex = [];
  const anywhere = /\$\$|\\begin\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$/;
  const inMath = /\\[A-Za-z]+|\\[()\[\]]/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    // Math that MathJax left alone is raw TeX even inside a closed dropdown; elsewhere
    // only text that is laid out (visible) counts.
    const math = parent.closest(".math");
    if (!math && !parent.getClientRects().length) continue;
    if ((math ? inMath : anywhere).test(node.textContent)) rawTex.push(node.textContent.trim().slice(0, 80));
  }
  // Elements a reader would have to scroll sideways: a scroll container (code, outputs,
  // tables) whose content is wider than its box. Folded cells (hide-input) are measured
  // open, as a reader who opens one sees them, then folded again for the screenshot.
  function overflowing() {
    const found = [];
    const folded = [...document.querySelectorAll("main details:not([open])")];
    folded.forEach((fold) => { fold.open = true; });
    for (const el of document.querySelectorAll("main *")) {
      const overflowX = getComputedStyle(el).overflowX;
      if ((overflowX === "auto" || overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1
          && el.getClientRects().length) {
        const text = (el.innerText || "").trim().split("\n")[0].slice(0, 50);
        found.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")} ` +
                   `(${el.scrollWidth} > ${el.clientWidth} px): ${text}`);
      }
    }
    folded.forEach((fold) => { fold.open = false; });
    return found;
  }
  return {
    mathElements: mathElements.length,
    mathJax: hasMathJax,
    typeset: document.querySelectorAll("mjx-container").length,
    texErrors: [...document.querySelectorAll("mjx-merror")].map(
      (e) => e.getAttribute("data-mjx-error") || e.textContent).slice(0, 5),
    images: document.images.length,
    brokenImages: [...document.images].filter((img) => !img.complete || img.naturalWidth === 0)
      .map((img) => img.getAttribute("src")),
    rawTex: rawTex.slice(0, 5),
    overflowing: overflowing(),
    altless: [...document.images].filter((img) => !img.alt.trim() || /[.](png|svg|jpe?g)$/.test(img.alt))
      .map((img) => img.getAttribute("src")),
    pageWidth: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
    height: document.documentElement.scrollHeight,
  };
})()
"""


class CDPError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Chromium:
    """A headless Chromium and a minimal DevTools Protocol client over its debugging pipe."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        # The browser reads commands on fd 3 and writes replies on fd 4; the shell maps
        # those to our stdin and stdout pipes before it becomes the browser (`exec`).
        command = ["sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2', executable,
                   *FLAGS, f"--user-data-dir={profile}", "about:blank"]  # fmt: skip
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._next_id = 0
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self.events: dict[str, queue.Queue] = {}  # by session id
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self.process.stdout.fileno(), 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        reply = self._replies.pop(message["id"], None)
                    if reply is not None:
                        reply.put(message)
                elif "sessionId" in message:
                    self.events.setdefault(
                        message["sessionId"], queue.Queue()
                    ).put(message)

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 30,
    ) -> dict:
        with self._lock:
            self._next_id += 1
            ident, reply = self._next_id, queue.Queue()
            self._replies[ident] = reply
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.process.stdin.write(json.dumps(message).encode() + b"\0")
        self.process.stdin.flush()
        try:
            answer = reply.get(timeout=timeout)
        except queue.Empty:
            raise CDPError(
                f"{method}: no answer from the browser in {timeout:.0f} s"
            ) from None
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CDPError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class Tab:
    """One page target: records its network traffic and errors while a page loads."""

    def __init__(self, browser: Chromium) -> None:
        self.browser = browser
        self.target = browser.send(
            "Target.createTarget", {"url": "about:blank"}
        )["targetId"]
        self.session = browser.send(
            "Target.attachToTarget",
            {"targetId": self.target, "flatten": True},
        )["sessionId"]
        self.events = browser.events.setdefault(self.session, queue.Queue())
        self.urls: dict[str, str] = {}  # request id -> url
        self.in_flight: set[str] = set()
        self.problems: list[str] = []
        self.loaded = False
        self.last_activity = time.monotonic()
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")
        self.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def send(
        self, method: str, params: dict | None = None, timeout: float = 30
    ) -> dict:
        return self.browser.send(
            method, params, session=self.session, timeout=timeout
        )

    def _handle(self, event: dict) -> None:
        method, params = event["method"], event.get("params", {})
        request_id = params.get("requestId")
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            self.urls[request_id] = url
            parts = urlsplit(url)
            if (
                parts.scheme in ("http", "https", "ws", "wss")
                and parts.hostname not in LOCAL_HOSTS
            ):
                self.problems.append(f"request to another host: {url}")
            if parts.scheme in ("http", "https"):
                self.in_flight.add(request_id)
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                self.problems.append(
                    f"HTTP {status} for {params['response']['url']}"
                )
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            self.in_flight.discard(request_id)
            if method == "Network.loadingFailed":
                url = self.urls.get(request_id, "?")
                self.problems.append(
                    f"failed to load {url}: {params.get('errorText', '?')}"
                )
        elif method == "Page.loadEventFired":
            self.loaded = True
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get(
                "description"
            ) or details.get("text", "?")
            if not any(known in text for known in KNOWN_JS_ERRORS):
                self.problems.append(
                    f"JavaScript exception: {text.splitlines()[0]}"
                )
        self.last_activity = time.monotonic()

    def pump(self, until, timeout: float) -> None:
        """Handle events until ``until()`` is true; raise CDPError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise CDPError(f"timed out after {timeout:.0f} s")
            try:
                self._handle(self.events.get(timeout=0.1))
            except queue.Empty:
                pass

    def open(self, url: str) -> dict:
        """Load ``url``, wait until it has settled, and return the page summary of INSPECT_PAGE."""
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        navigation = self.send("Page.navigate", {"url": url})
        if navigation.get("errorText"):
            raise CDPError(
                f"could not open {url}: {navigation['errorText']}"
            )
        self.pump(lambda: self.loaded, deadline - time.monotonic())
        evaluation = self.send(
            "Runtime.evaluate",
            {
                "expression": INSPECT_PAGE,
                "awaitPromise": True,
                "returnByValue": True,
            },
            timeout=deadline - time.monotonic(),
        )
        if "exceptionDetails" in evaluation:
            raise CDPError(
                f"inspecting the page failed: {evaluation['exceptionDetails'].get('text')}"
            )
        self.pump(lambda: not self.in_flight and time.monotonic() - self.last_activity > QUIET_S,
                  deadline - time.monotonic())  # fmt: skip
        return evaluation["result"]["value"]

    def screenshot(self, path: Path) -> None:
        """Save the whole page as a PNG: the viewport is made as tall as the page first
        (capturing beyond a small viewport lets the theme's sticky sidebars slide away),
        and as wide as the reader's window less its scrollbar, which a viewport as tall
        as the page does not show: the columns are laid out as the check measured them."""
        width, height = WINDOW_WIDTH - SCROLLBAR_WIDTH, 0
        for _ in range(
            3
        ):  # a taller viewport can change the page's height; settle first
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            if int(size["height"]) == height:
                break
            height = int(size["height"])
            metrics = {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
            }
            self.send("Emulation.setDeviceMetricsOverride", metrics)
            # let the layout and the theme's transitions settle
            time.sleep(0.3)
        shot = self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


def judge(summary: dict) -> list[str]:
    """What is wrong with a page, from its INSPECT_PAGE summary."""
    problems = [f"broken image: {src}" for src in summary["brokenImages"]]
    problems += [f"raw TeX visible: {text!r}" for text in summary["rawTex"]]
    problems += [f"TeX error: {text}" for text in summary["texErrors"]]
    problems += [
        f"scrolls sideways: {what}" for what in summary["overflowing"]
    ]
    width, window = summary["pageWidth"]
    if width > window:
        problems.append(
            f"the page is {width} px wide in a {window} px window"
        )
    if summary["mathElements"] and not summary["mathJax"]:
        problems.append(
            f"{summary['mathElements']} math elements but MathJax did not load"
        )
    elif summary["mathElements"] and not summary["typeset"]:
        problems.append(
            f"{summary['mathElements']} math elements but nothing typeset (no mjx-container)"
        )
    return problems


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def find_browser() -> str | None:
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next(
        (found for name in BROWSERS if (found := shutil.which(name))), None
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.browser_check",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "site", type=Path, help="the built HTML folder, e.g. _build/html"
    )
    parser.add_argument(
        "--toc",
        type=Path,
        help="the book's _toc.yml (default: ../../_toc.yml from the site)",
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        help="where to save screenshots (default: ../screenshots from the site)",
    )
    args = parser.parse_args(argv)
    site = args.site.resolve()
    toc = args.toc or site.parent.parent / "_toc.yml"
    shots = args.screenshots or site.parent / "screenshots"
    browser_path = find_browser()
    if not site.is_dir() or not toc.is_file():
        print(
            f"browser_check: need a built site and its _toc.yml ({site}, {toc})",
            file=sys.stderr,
        )
        return 2
    if browser_path is None:
        print(f"browser_check: no browser found ({', '.join(BROWSERS)} or $CHROMIUM); run .ci/run or "
              "`apt-get install chromium`", file=sys.stderr)  # fmt: skip
        return 2
    pages = toc_docnames(toc)
    if len({Path(page).name for page in pages}) != len(pages):
        print(
            "browser_check: two pages share a file name; screenshots would overwrite each other",
            file=sys.stderr,
        )
        return 2
    from helpers.cache import NotOwnedError, owned_folder

    try:  # emptied of the last run's screenshots, if the book made it
        shots = owned_folder(shots, empty=True)
    except NotOwnedError as refused:
        print(f"browser_check: {refused}", file=sys.stderr)
        return 2

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0),
        functools.partial(QuietHandler, directory=str(site)),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    failed = 0
    with tempfile.TemporaryDirectory(prefix="browser-check-") as profile:
        browser = Chromium(
            browser_path, Path(profile), shots / "chromium.log"
        )
        try:
            version = browser.send("Browser.getVersion", timeout=60)[
                "product"
            ]
            print(
                f"browser_check: {version} ({browser_path}), serving {site} at {base}"
            )
            for page in pages:
                started = time.monotonic()
                shot = shots / f"{Path(page).name}.png"
                tab = None
                try:
                    tab = Tab(browser)
                    summary = tab.open(f"{base}/{page}.html")
                    tab.screenshot(shot)
                    problems = tab.problems + judge(summary)
                    facts = (f"{len(tab.urls)} requests, {summary['images']} images, "
                             f"{summary['typeset']}/{summary['mathElements']} math typeset, "
                             f"{len(summary['overflowing'])} overflowing, "
                             f"{summary['height']} px tall, {time.monotonic() - started:.1f} s")  # fmt: skip
                except CDPError as error:
                    problems = (tab.problems if tab else []) + [str(error)]
                    facts = f"{time.monotonic() - started:.1f} s"
                finally:
                    if tab is not None:
                        tab.close()
                failed += bool(problems)
                shown = (
                    shot.relative_to(Path.cwd())
                    if shot.is_relative_to(Path.cwd())
                    else shot
                )
                print(
                    f"{'FAIL' if problems else 'ok  '} {page}.html: {facts} -> {shown}"
                )
                for problem in dict.fromkeys(problems):
                    print(f"       {problem}")
        finally:
            browser.close()
            server.shutdown()
    print(
        f"browser_check: {len(pages) - failed} of {len(pages)} pages render cleanly; screenshots in {shots}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
