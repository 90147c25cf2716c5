"""The bounded queue between send_data (the caller's thread) and the SendStream call (gRPC's thread)."""

import queue
import time
from typing import Callable, List, Optional, Tuple

Item = Tuple[bytes, Optional[int]]


class SendQueue(queue.Queue):
    """queue.Queue (its lock, conditions and bound) with a batch take for the stream's request iterator."""

    def take_batch(self, max_items: int, max_bytes: int, should_end: Callable[[], bool]) -> Optional[List[Item]]:
        """Waits for at least one item and returns up to max_items (or max_bytes of payload), or None once
        should_end() holds while the queue is empty (checked whenever wake() is called or a put arrives)."""
        with self.not_empty:
            while not self.queue:
                if should_end():
                    return None
                self.not_empty.wait()
            batch: List[Item] = []
            size = 0
            items = self.queue
            while items and len(batch) < max_items and size < max_bytes:
                item = items.popleft()
                batch.append(item)
                size += len(item[0])
            self.unfinished_tasks -= len(batch)
            self.not_full.notify_all()
            return batch

    def wake(self) -> None:
        """Wakes waiting take_batch and put_bounded calls, so that they check should_end() and aborted() again."""
        with self.mutex:
            self.not_empty.notify_all()
            self.not_full.notify_all()

    def clear(self) -> int:
        """Empties the queue (the stream failed: nothing will send these); returns how many were in it."""
        with self.mutex:
            n = len(self.queue)
            self.queue.clear()
            self.unfinished_tasks = 0
            self.not_full.notify_all()
            return n

    def put_bounded(self, item: Item, block: bool, timeout_s: Optional[float], aborted: Callable[[], bool]) -> bool:
        """Like put(); returns False when full after timeout_s (or at once when not block). Wakes early when
        aborted() holds (the stream failed while the caller waited: wake() is called then), returning True
        without queueing so that the caller raises the stream's error."""
        with self.not_full:
            if self.maxsize > 0 and len(self.queue) >= self.maxsize:
                if not block:
                    return False
                deadline = None if timeout_s is None else time.monotonic() + timeout_s
                while len(self.queue) >= self.maxsize:
                    if aborted():
                        return True
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self.not_full.wait(remaining)
            self.queue.append(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()
            return True
