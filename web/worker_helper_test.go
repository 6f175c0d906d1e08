package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// runWorker drains the intake stream of keys into store until the test
// ends, and fails the test if the worker returns an error.
func runWorker(t testing.TB, rdb *redis.Client, store *postgres.DB, keys intake.Keys, metrics *intake.Metrics, block time.Duration) {
	t.Helper()
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	w := intake.NewWorker(rdb, store, intake.WorkerConfig{Keys: keys, Consumer: "w", Block: block}, metrics)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}
