"""Checkpoint test helpers shared by tests/test_checkpoint and tests/test_tools: an
MMEngine-like checkpoint, a code-running pickle payload and a local HTTP server."""
from __future__ import annotations

import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def mmengine_like_checkpoint(path) -> dict:
    """What MMEngine's Runner.save_checkpoint stores: HistoryBuffers, numpy scalars."""
    buffer = HistoryBuffer()
    buffer.update(np.float64(0.5))
    ckpt = {'meta': {'seed': np.int64(3), 'epoch': 2},
            'message_hub': {'log_scalars': {'train/loss': buffer},
                            'runtime_info': {'arr': np.arange(3)}},
            'state_dict': {'w': torch.arange(4.0)}}
    torch.save(ckpt, path)
    return ckpt


class Payload:
    """Unpickles as ``open(marker, 'w')`` (global ``io.open``): code run by loading."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(tmp_path):
    """A local http.server with evil.pth and good.pth: (base URL, folder, marker path)."""
    served = tmp_path / 'served'
    served.mkdir()
    marker = tmp_path / 'PAYLOAD_RAN'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'x': Payload(str(marker))},
               served / 'evil.pth')
    mmengine_like_checkpoint(served / 'good.pth')
    httpd = ThreadingHTTPServer(('127.0.0.1', 0),
                                functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}', served, marker
    finally:
        httpd.shutdown()
        httpd.server_close()
