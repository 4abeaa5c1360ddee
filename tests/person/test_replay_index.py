"""The replay index lives in the short-lived store: a clip seen through one node is refused
through another (issue 16, item 4), exact copies and re-encodings alike."""
import pytest

from idp.person.clipupload import ClipUpload, UploadLimits
from idp.person.seen import StoreSeenFrames
from idp.store.redis_store import RedisStore
from tests.helpers.redis import redis_prefix, redis_url

from . import faces

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


def _judge(engine, seen, clip, session):
    images, times = clip
    decoded = engine.decode(ClipUpload("burst", frames=list(zip(times, images))), UploadLimits())
    return engine.check_clip(decoded, actions=engine.guided_actions(), seen=seen,
                             session_id=session)


@pytest.mark.parametrize("quality", [88, 70])
def test_a_clip_seen_on_one_node_is_a_replay_on_another(engine, quality):
    url = redis_url()
    with redis_prefix(url) as prefix:
        node_a = StoreSeenFrames(RedisStore(url, prefix=prefix))
        node_b = StoreSeenFrames(RedisStore(url, prefix=prefix))
        first = _judge(engine, node_a, faces.genuine(), "session-a-0000000000000")
        assert first.reason != "replay"
        again = _judge(engine, node_b, faces.genuine(quality=quality),
                       "session-b-0000000000000")
        # refused as a replay (the reason, once every earlier check passed; the finding always)
        assert again.live is False and (again.reason == "replay" or again.replay)
        other = _judge(engine, node_b, faces.genuine(*faces.OTHER_GENUINE),
                       "session-c-0000000000000")
        assert other.reason != "replay" and not other.replay  # another capture is no replay
