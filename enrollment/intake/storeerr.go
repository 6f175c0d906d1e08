package intake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// unreachable reports whether a storing error means the database cannot
// take the entries now, whatever they hold: it cannot be reached (a network
// error, a connection refused, reset or lost, the worker's own deadline),
// it is starting, stopping, out of resources or a read-only standby after
// a failover, it refuses the service's login, or it asked for the
// transaction to be tried again (serialization failure, deadlock). The
// worker waits these out and counts them against no entry.
//
// Every other error may be the entries' fault, including errors of no
// known kind: the batch is then stored entry by entry, so that one bad
// entry cannot hold the others.
func unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true // the batch ran out of time or the worker stops
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "08", // connection exception
			"28", // invalid authorization: a rotated password, not the entry
			"53", // insufficient resources: disk full, out of memory, too many connections
			"57", // operator intervention: shutdown, crash recovery, cancelled statement
			"58": // system error: I/O error in the server
			return true
		}
		switch pqErr.Code {
		case "40001", "40P01", // serialization failure, deadlock: try again
			"55P03", // lock not available
			"25006", // read-only transaction: connected to a standby
			"3D000", // the database does not exist (being restored)
			"42501": // insufficient privilege: the grants changed
			return true
		}
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return strings.Contains(err.Error(), "connection refused")
}

// describe says why storing failed, for logs and dead letters, without the
// personal data an error can quote. PostgreSQL's messages about bad input
// (class 22) quote the value and its details quote the row, so a database
// error is told by its code, its name, its message (except for class 22)
// and the constraint, table and column it names.
func describe(err error) string {
	var e *pq.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "database refused: SQLSTATE %s", e.Code)
	if name := e.Code.Name(); name != "" {
		fmt.Fprintf(&b, " %s", name)
	}
	if e.Code.Class() != "22" && e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for _, f := range [...]struct{ what, name string }{{"table", e.Table}, {"column", e.Column}, {"constraint", e.Constraint}} {
		if f.name != "" {
			fmt.Fprintf(&b, "; %s %s", f.what, f.name)
		}
	}
	return b.String()
}
