import sys
from urllib.parse import urlencode
sys.path.insert(0, "/tmp/i16s")
from probe import *  # noqa

def test_probe(make_app, tmp_path):
    port = free_port()
    app = make_app(issuer=f"http://127.0.0.1:{port}")
    st = app.extensions["idp"]
    eng = Probe(); st.services["liveness"] = eng; st.services["person"].engine = eng
    st.services["registry"].enrol(ID, NAME, template(1), "test")
    video = tmp_path / "v.y4m"; y4m(video, "/work/shared/data/videos/lp_d12.mp4")
    rp = RP(app, app.test_client()); rp.authorize()
    params = {k: v for k, v in rp.last.items() if k != "verifier"}
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    with serve(app, port) as base, chromium(args) as browser:
        page = browser.new_context(permissions=["camera"]).new_page()
        page.goto(f"{base}/authorize?{urlencode(params)}")
        page.click("#method-person")
        page.fill("#person-name", NAME); page.fill("#person-id-number", ID); page.check("#person-consent")
        page.click("#person-continue")
        page.wait_for_function("() => document.body.dataset.personState === 'camera'")
        page.evaluate("""() => { window.rvfc = []; const v = document.getElementById('camera-video');
            const f = (now, meta) => { window.rvfc.push([now, meta.mediaTime, meta.presentedFrames]); v.requestVideoFrameCallback(f); };
            v.requestVideoFrameCallback(f); }""")
        page.click("#camera-start")
        page.wait_for_function("() => ['failed','done'].includes(document.body.dataset.personState)", timeout=30000)
        r = page.evaluate("window.rvfc")
        ts = [x[0] for x in r]; gaps = [b - a for a, b in zip(ts, ts[1:])]
        print("rvfc", len(r), "span", ts[-1]-ts[0], "max gap", max(gaps), "presented", r[-1][2]-r[0][2])
