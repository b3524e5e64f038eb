/**
 * A binary min-heap of items ordered by a deadline (ms). The scheduler keeps its in-memory jobs
 * in one, to find the next due without scanning them all. Entries are never removed from the
 * middle: a caller marks an item stale and skips it when it reaches the top (lazy deletion), so
 * cancelling and rescheduling stay O(log n).
 */

export interface Deadlined {
  readonly deadlineMs: number;
}

export class DeadlineHeap<T extends Deadlined> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]!.deadlineMs <= item.deadlineMs) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.deadlineMs < items[left]!.deadlineMs ? right : left;
      if (items[child]!.deadlineMs >= last.deadlineMs) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
