"""Backoff and retries against a transport that fails on cue (httpx.MockTransport), clock injected."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from jupyter_tracker.store import records
from jupyter_tracker.store.writer import RunLogWriter
from jupyter_tracker.sync.backoff import Backoff, RetriesExhausted, RetryableError, retry
from jupyter_tracker.sync.transport import (
    AuthError,
    PayloadTooLargeError,
    RateLimitedError,
    RefusedError,
    SequenceGapError,
    TrackerClient,
    TransientError,
)
from jupyter_tracker.sync.uploader import OutageReporter, RunUpload, SyncThread, make_retrier

KEY = "jt_secret_key_that_must_not_leak"


class FakeClock:
    """A monotonic clock that advances only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Cues:
    """A handler for MockTransport: answers each request with the next cue (an int status or an exception)."""

    def __init__(self, cues: list, on_success: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.cues = list(cues)
        self.requests: list[httpx.Request] = []
        self.on_success = on_success or (lambda request: httpx.Response(200, json={"applied_seq": 0}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        cue = self.cues.pop(0) if self.cues else 200
        if isinstance(cue, Exception):
            raise cue
        if isinstance(cue, httpx.Response):
            return cue
        if cue == 200:
            return self.on_success(request)
        return httpx.Response(cue, json={"error": f"cue {cue}"})


def client_for(handler: Cues) -> TrackerClient:
    return TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(handler))


# the backoff window ---------------------------------------------------------------------------------
def test_full_jitter_stays_within_the_doubling_window() -> None:
    backoff = Backoff(base=0.5, cap=10.0)
    for attempt in range(12):
        ceiling = min(10.0, 0.5 * 2**attempt)
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling


def test_full_jitter_spreads_over_the_whole_window() -> None:
    draws = iter([0.0, 0.5, 1.0])
    backoff = Backoff(base=2.0, cap=100.0, uniform=lambda: next(draws))
    assert [backoff.next_delay() for _ in range(3)] == [0.0, 2.0, 8.0]


def test_the_cap_bounds_every_delay_even_after_many_attempts() -> None:
    backoff = Backoff(base=1.0, cap=30.0, uniform=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(2000)]
    assert max(delays) == 30.0


def test_retry_after_is_a_floor_with_at_most_a_second_of_jitter() -> None:
    backoff = Backoff(base=1.0, cap=60.0)
    for _ in range(50):
        delay = backoff.next_delay(retry_after=7.0)
        assert 7.0 <= delay <= 8.0


def test_reset_returns_to_the_shortest_window() -> None:
    backoff = Backoff(base=1.0, cap=60.0, uniform=lambda: 1.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_invalid_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=0.0)
    with pytest.raises(ValueError, match="cap"):
        Backoff(base=2.0, cap=1.0)


# retry() with an injected clock ---------------------------------------------------------------------
def test_retry_sleeps_between_failures_and_returns_the_result() -> None:
    clock = FakeClock()
    outcomes = [RetryableError("down"), RetryableError("down"), "ok"]

    def operation() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    failures: list[float] = []
    result = retry(
        operation,
        Backoff(base=1.0, uniform=lambda: 1.0),
        sleep=clock.sleep,
        clock=clock,
        on_failure=lambda error, delay: failures.append(delay),
    )
    assert result == "ok"
    assert clock.sleeps == [1.0, 2.0] == failures


def test_retry_gives_up_at_the_deadline_without_sleeping_past_it() -> None:
    clock = FakeClock()

    def always_down() -> None:
        raise RetryableError("down")

    with pytest.raises(RetriesExhausted) as caught:
        retry(
            always_down,
            Backoff(base=1.0, cap=8.0, uniform=lambda: 1.0),
            sleep=clock.sleep,
            clock=clock,
            deadline=clock.now + 20.0,
        )
    assert sum(clock.sleeps) <= 20.0
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert isinstance(caught.value.__cause__, RetryableError)


def test_retry_passes_other_errors_through_at_once() -> None:
    clock = FakeClock()

    def refused() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        retry(refused, Backoff(), sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


def test_a_stop_event_interrupts_the_wait() -> None:
    stop = threading.Event()

    def down() -> None:
        stop.set()  # stop is asked while the operation runs
        raise RetryableError("down")

    with pytest.raises(RetriesExhausted):
        retry(down, Backoff(base=100.0, cap=100.0), sleep=stop.wait, should_stop=stop.is_set)


# the transport's sorting of failures ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("cue", "kind"),
    [
        (500, TransientError),
        (503, TransientError),
        (429, RateLimitedError),
        (401, AuthError),
        (403, AuthError),
        (409, SequenceGapError),
        (413, PayloadTooLargeError),
        (400, RefusedError),
        (httpx.ConnectError("connection refused"), TransientError),
        (httpx.ReadTimeout("timed out"), TransientError),
    ],
)
def test_transport_sorts_failures_by_kind(cue: object, kind: type[Exception]) -> None:
    client = client_for(Cues([cue]))
    with pytest.raises(kind) as caught:
        client.post_records("alice", "mnist", "abc", b"\x92\x01\x90")
    assert KEY not in str(caught.value)


def test_retry_after_header_is_read_from_a_429() -> None:
    handler = Cues([httpx.Response(429, headers={"Retry-After": "12"}, json={"error": "slow down"})])
    with pytest.raises(RateLimitedError) as caught:
        client_for(handler).viewer()
    assert caught.value.retry_after == 12.0
    assert "slow down" in str(caught.value)


def test_requests_carry_the_key_only_in_the_authorization_header() -> None:
    handler = Cues([200])
    TrackerClient("http://tracker.test", KEY, username="bob", transport=httpx.MockTransport(handler)).viewer()
    request = handler.requests[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["X-Jt-Username"] == "bob"
    assert KEY not in str(request.url)


def test_a_key_echoed_by_a_server_is_scrubbed_from_the_error() -> None:
    handler = Cues([httpx.Response(401, json={"error": f"bad key {KEY}"})])
    with pytest.raises(AuthError) as caught:
        client_for(handler).viewer()
    assert KEY not in str(caught.value)


def test_retry_honours_retry_after_from_the_transport() -> None:
    clock = FakeClock()
    handler = Cues(
        [httpx.Response(429, headers={"Retry-After": "5"}), 503, 200],
        on_success=lambda request: httpx.Response(200, json={"username": "alice"}),
    )
    client = client_for(handler)
    viewer = retry(client.viewer, Backoff(base=1.0, uniform=lambda: 0.0), sleep=clock.sleep, clock=clock)
    assert viewer == {"username": "alice"}
    assert clock.sleeps[0] >= 5.0
    assert len(handler.requests) == 3


# the uploader against a transport that fails on cue -------------------------------------------------
class FakeServer:
    """Just enough of the records endpoint: applies batches by sequence, fails on cue."""

    def __init__(self, cues: list | None = None) -> None:
        self.applied_seq = 0
        self.records: list[list] = []
        self.cues = list(cues or [])
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.cues:
            cue = self.cues.pop(0)
            if isinstance(cue, Exception):
                raise cue
            if isinstance(cue, httpx.Response):
                return cue
            if cue != 200:
                return httpx.Response(cue, json={"error": f"cue {cue}"})
        path = request.url.path
        if request.method == "PUT" and path.count("/") == 6:
            return httpx.Response(200, json={"run_id": "r", "applied_seq": self.applied_seq, "created": True})
        if path.endswith("/records"):
            first_seq, batch = records.decode_payload(request.content)
            if first_seq > self.applied_seq + 1:
                return httpx.Response(409, json={"error": "sequence gap", "applied_seq": self.applied_seq})
            for index, record in enumerate(batch):
                if first_seq + index > self.applied_seq:
                    self.records.append(record)
                    self.applied_seq = first_seq + index
            return httpx.Response(200, json={"applied_seq": self.applied_seq})
        if request.method == "PUT" and "/files/" in path:
            return httpx.Response(200, json={"name": path.split("/files/", 1)[1], "size": len(request.content)})
        return httpx.Response(404, json={"error": "unknown"})


def write_run(run_dir: Path, rows: int) -> None:
    writer = RunLogWriter(run_dir / "run.jtlog", flush_interval=0.01)
    writer.start()
    writer.append((records.RUN, {"id": "abc", "project": "mnist"}))
    for step in range(rows):
        writer.append((records.HISTORY, step, 1.0, 0.1, {"loss": 1.0 / (step + 1)}))
    writer.close()


def test_uploader_survives_an_outage_and_sends_each_record_once(tmp_path: Path) -> None:
    write_run(tmp_path, 500)
    failures = [httpx.ConnectError("refused")] * 3 + [503, httpx.Response(429, headers={"Retry-After": "2"})]
    server = FakeServer(cues=[200] + failures)  # the PUT succeeds, then the first POST fails five times
    clock = FakeClock()
    stop = threading.Event()
    reporter = OutageReporter("abc")
    retrier = make_retrier(reporter, stop, clock=clock, sleep=clock.sleep)
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    upload = RunUpload(
        tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice", retrier=retrier, max_batch_records=100
    )
    upload.upload_all()
    assert server.applied_seq == 501
    assert len(server.records) == 501
    assert reporter.failures == 5
    assert any(delay >= 2.0 for delay in clock.sleeps)
    assert not reporter.in_outage


def test_sync_thread_reports_an_outage_once_and_its_recovery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    write_run(tmp_path, 50)
    server = FakeServer(cues=[httpx.ConnectError("refused")] * 4)
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    upload = RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice")
    thread = SyncThread(upload, interval=0.05, backoff_factory=lambda: Backoff(base=0.01, cap=0.02))
    thread.start()
    assert thread.drain(timeout=10.0, last_seq=51, show_progress=False)
    output = capsys.readouterr()
    assert output.err.count("network failure, retrying") == 1
    assert output.out.count("sync resumed") == 1
    assert server.applied_seq == 51
    assert KEY not in output.out + output.err


def test_sync_thread_is_silent_under_wandb_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")
    write_run(tmp_path, 10)
    server = FakeServer(cues=[httpx.ConnectError("refused")] * 2)
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    thread = SyncThread(
        RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice"),
        interval=0.05,
        backoff_factory=lambda: Backoff(base=0.01, cap=0.02),
    )
    thread.start()
    assert thread.drain(timeout=10.0, last_seq=11)
    output = capsys.readouterr()
    assert output.out == "" and output.err == ""


def test_a_refusal_stops_the_thread_with_a_message_and_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    write_run(tmp_path, 10)
    server = FakeServer(cues=[401])
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    thread = SyncThread(RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice"), interval=0.05)
    thread.start()
    assert not thread.drain(timeout=5.0, last_seq=11, show_progress=False)
    assert isinstance(thread.error, AuthError)
    err = capsys.readouterr().err
    assert "jupyter-tracker sync" in err and KEY not in err


def test_drain_never_waits_past_its_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("WANDB_SILENT", "true")
    write_run(tmp_path, 10)
    server = FakeServer(cues=[httpx.ConnectError("refused")] * 10_000)
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    thread = SyncThread(
        RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice"),
        interval=0.05,
        backoff_factory=lambda: Backoff(base=0.05, cap=0.1),
    )
    thread.start()
    started = time.monotonic()
    assert not thread.drain(timeout=0.5, last_seq=11)
    assert time.monotonic() - started < 1.5
    assert thread.ended.wait(2.0)


def test_a_batch_too_large_for_the_server_is_split(tmp_path: Path) -> None:
    write_run(tmp_path, 64)
    server = FakeServer(cues=[200, 413, 413])
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice").upload_all()
    assert server.applied_seq == 65
    assert [record[0] for record in server.records].count("h") == 64


def test_a_server_that_lost_records_gets_them_again(tmp_path: Path) -> None:
    write_run(tmp_path, 30)
    server = FakeServer()
    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(server))
    RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice").upload_all()
    server.applied_seq = 10  # its database was restored from an older backup
    server.records = server.records[:10]
    RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice").upload_all()
    assert server.applied_seq == 31
    assert len(server.records) == 31
    steps = [record[1] for record in server.records if record[0] == "h"]
    assert steps == list(range(30))


def test_sync_json_holds_progress_but_never_the_key(tmp_path: Path) -> None:
    write_run(tmp_path, 5)
    server = FakeServer()
    client = TrackerClient("http://user:pw@tracker.test", KEY, transport=httpx.MockTransport(server))
    RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice").upload_all()
    text = (tmp_path / "sync.json").read_text()
    assert KEY not in text and "pw" not in text
    assert '"applied_seq": 6' in text


def test_a_crash_of_the_sync_thread_is_reported_and_ends_only_the_thread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    write_run(tmp_path, 10)

    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug in the sync code")  # not a transport error: nothing to retry

    client = TrackerClient("http://tracker.test", KEY, transport=httpx.MockTransport(broken))
    thread = SyncThread(RunUpload(tmp_path, client, {"id": "abc", "project": "mnist"}, entity="alice"), interval=0.05)
    thread.start()
    assert thread.ended.wait(5.0)
    assert isinstance(thread.error, RuntimeError)
    assert not thread.drain(timeout=1.0, last_seq=11)
    err = capsys.readouterr().err
    assert "sync thread of run abc crashed (RuntimeError: a bug in the sync code)" in err
    assert "keeps logging locally" in err and "jupyter-tracker sync" in err
