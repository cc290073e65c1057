//! Process orchestration: static config, control thread, workers, signals.
