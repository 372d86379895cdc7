#include "sip/timer_queue.h"

namespace privox::sip {

TimerQueue::Id TimerQueue::schedule(int64_t at_us, std::function<void()> fire) {
  const Id id = next_id_++;
  heap_.push({at_us, id});
  callbacks_.emplace(id, std::move(fire));
  return id;
}

void TimerQueue::cancel(Id id) { callbacks_.erase(id); }

void TimerQueue::run_due(int64_t now_us) {
  while (!heap_.empty() && heap_.top().at <= now_us) {
    const Id id = heap_.top().id;
    heap_.pop();
    auto it = callbacks_.find(id);
    if (it == callbacks_.end()) continue;  // cancelled
    std::function<void()> fire = std::move(it->second);
    callbacks_.erase(it);
    fire();
  }
}

int64_t TimerQueue::next_due() {
  while (!heap_.empty() && !callbacks_.count(heap_.top().id)) heap_.pop();
  return heap_.empty() ? kNever : heap_.top().at;
}

}  // namespace privox::sip
