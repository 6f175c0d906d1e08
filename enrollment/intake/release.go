package intake

import (
	"context"
	"fmt"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Release deletes the duplicate guard of a child for a level and year if
// it still names the application with tracking code code, so that the
// child may be registered again once that application is voided. A guard
// naming another application (a later registration of the child) is left
// alone, and so is a guard that has expired or was never set (a direct
// registration). It returns an error when Redis does not answer within
// Config.Timeout.
func (q *Queue) Release(ctx context.Context, level enrollment.Level, year int, idNumber, code string) error {
	key := q.cfg.Keys.Child(level, year, idNumber)
	_, err := within(ctx, q.cfg.Timeout, func(ctx context.Context) (int64, error) {
		return releaseChild.Run(ctx, q.cmd, []string{key}, code+" ").Int64()
	})
	if err != nil {
		return fmt.Errorf("release duplicate guard: %w", err)
	}
	return nil
}
