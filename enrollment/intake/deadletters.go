package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// ErrNoDeadLetter is returned for an id that is not in the dead-letter
// stream (never was, or was replayed or dropped already).
var ErrNoDeadLetter = errors.New("no such dead letter")

// ErrStoreUnavailable is wrapped by a replay that failed because the
// database could not be reached: replaying more now would fail alike.
var ErrStoreUnavailable = errors.New("database unavailable")

// DeadLetter is an entry of the dead-letter stream: an intake entry the
// workers could not store, with why.
type DeadLetter struct {
	// ID is the entry's id in the dead-letter stream, which the operator
	// names it by.
	ID string
	// Entry is the id the entry had in the intake stream.
	Entry string
	// Reason says why it was not stored. It carries no personal data.
	Reason string
	// Failures is how many times the database refused it (1 for an entry
	// that does not decode).
	Failures int64
	// Consumer is the worker that moved it.
	Consumer string
	// At is when it was moved.
	At time.Time
	// ApplicationID and TrackingCode identify the application; empty when
	// the payload does not decode.
	ApplicationID string
	TrackingCode  string
	// Payload is the application as queued. It is personal data: only Get
	// fills it in, for the operator's eyes, never for a log.
	Payload string
}

// DeadLettersConfig configures DeadLetters.
type DeadLettersConfig struct {
	Keys Keys
	// StatusGrace is how long the status document a replay writes stays in
	// Redis, as the workers write it (INTAKE_STATUS_GRACE).
	StatusGrace time.Duration
	// Logger records every use, without personal data.
	Logger *slog.Logger
}

// DeadLetters is the operator's tooling for the dead-letter stream: list
// and show its entries, replay them into PostgreSQL once their cause is
// fixed, or drop them. A replayed or dropped entry is deleted from the
// stream, and with it the payload it held.
type DeadLetters struct {
	rdb   *redis.Client
	saver Saver
	cfg   DeadLettersConfig
	log   *slog.Logger
}

// NewDeadLetters returns the dead-letter tooling; saver stores replays and
// may be nil for List, Get and Drop.
func NewDeadLetters(rdb *redis.Client, saver Saver, cfg DeadLettersConfig) *DeadLetters {
	if cfg.Keys.Prefix == "" {
		cfg.Keys.Prefix = "ts"
	}
	if cfg.StatusGrace <= 0 {
		cfg.StatusGrace = DefaultStatusGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &DeadLetters{rdb: rdb, saver: saver, cfg: cfg, log: cfg.Logger}
}

// List returns every dead letter, oldest first, without payloads.
func (d *DeadLetters) List(ctx context.Context) ([]DeadLetter, error) {
	var out []DeadLetter
	start := "-"
	for {
		msgs, err := d.rdb.XRangeN(ctx, d.cfg.Keys.Dead(), start, "+", 500).Result()
		if err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		for _, m := range msgs {
			dl := parseDeadLetter(m)
			dl.Payload = ""
			out = append(out, dl)
		}
		if len(msgs) < 500 {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	d.log.Info("deadletters: list", "command", "list", "dead_letters", len(out))
	return out, nil
}

// Get returns one dead letter with its payload, or ErrNoDeadLetter.
func (d *DeadLetters) Get(ctx context.Context, id string) (DeadLetter, error) {
	dl, err := d.get(ctx, id)
	if err != nil {
		return DeadLetter{}, err
	}
	d.log.Info("deadletters: show", "command", "show", "dead_letter", id, "entry", dl.Entry, "application", dl.ApplicationID)
	return dl, nil
}

func (d *DeadLetters) get(ctx context.Context, id string) (DeadLetter, error) {
	msgs, err := d.rdb.XRangeN(ctx, d.cfg.Keys.Dead(), id, id, 1).Result()
	if err != nil {
		// A malformed id is an error of Redis's; to the operator it is
		// simply not a dead letter.
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return DeadLetter{}, fmt.Errorf("dead letter %q: %w", id, ErrNoDeadLetter)
		}
		return DeadLetter{}, fmt.Errorf("read dead letter %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, ErrNoDeadLetter)
	}
	return parseDeadLetter(msgs[0]), nil
}

func parseDeadLetter(m redis.XMessage) DeadLetter {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	dl := DeadLetter{ID: m.ID, Entry: str("entry"), Reason: str("reason"), Consumer: str("consumer"), Payload: str("a")}
	n := str("failures")
	if n == "" {
		n = str("deliveries") // written before failures were counted
	}
	dl.Failures, _ = strconv.ParseInt(n, 10, 64)
	dl.At, _ = time.Parse(time.RFC3339Nano, str("at"))
	var ids struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
	}
	if json.Unmarshal([]byte(dl.Payload), &ids) == nil {
		dl.ApplicationID, dl.TrackingCode = ids.ID, ids.TrackingCode
	}
	return dl
}

// Replayed is the outcome of a replay.
type Replayed struct {
	DeadLetter
	// Outcome is inserted, already_stored (the application was stored
	// before: nothing is duplicated) or duplicate (the child has another
	// application; this one is recorded as a duplicate submission).
	Outcome string
}

// Replay stores a dead letter's application through the store, as a
// worker would: idempotently, so an application already stored is not
// stored twice. It then writes the application's status document and
// deletes the dead letter and its failure count. A replay that fails
// leaves the dead letter where it is and returns the new reason, safe to
// show (wrapping ErrStoreUnavailable when the database cannot be
// reached); an unknown id returns ErrNoDeadLetter.
func (d *DeadLetters) Replay(ctx context.Context, id string) (Replayed, error) {
	dl, err := d.get(ctx, id)
	if err != nil {
		d.log.Warn("deadletters: replay failed", "command", "replay", "dead_letter", id, "err", err)
		return Replayed{}, err
	}
	r := Replayed{DeadLetter: dl}
	r.Payload = ""
	fail := func(err error) (Replayed, error) {
		d.log.Warn("deadletters: replay failed; the dead letter stays", "command", "replay", "dead_letter", id,
			"entry", dl.Entry, "application", dl.ApplicationID, "err", err)
		return r, err
	}
	a, err := decodeEntry(redis.XMessage{ID: dl.Entry, Values: map[string]any{"a": dl.Payload}})
	if err != nil {
		return fail(err)
	}
	if d.saver == nil {
		return fail(errors.New("replay needs a store"))
	}
	stored, err := d.saver.SaveBatch(ctx, []*enrollment.Application{a})
	if err != nil {
		if unreachable(ctx, err) {
			return fail(fmt.Errorf("%w: %s", ErrStoreUnavailable, describe(err)))
		}
		return fail(errors.New(describe(err)))
	}
	r.Outcome = outcomeName(stored[0].Outcome)
	_, err = d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, d.cfg.Keys.App(a.TrackingCode), storedStatus(a, stored[0]), d.cfg.StatusGrace)
		p.XDel(ctx, d.cfg.Keys.Dead(), id)
		p.HDel(ctx, d.cfg.Keys.Failures(), dl.Entry)
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("application stored (%s) but Redis not updated, replay again: %w", r.Outcome, err))
	}
	d.log.Info("deadletters: replayed", "command", "replay", "dead_letter", id, "entry", dl.Entry,
		"application", dl.ApplicationID, "outcome", r.Outcome)
	return r, nil
}

// Drop deletes a dead letter without storing it, or returns
// ErrNoDeadLetter. The registration's status document is left as it is:
// it reads queued (accepted, not stored), which stays true. The drop is
// logged as a warning, for the operator to follow up with the school.
func (d *DeadLetters) Drop(ctx context.Context, id string) (DeadLetter, error) {
	dl, err := d.get(ctx, id)
	if err != nil {
		d.log.Warn("deadletters: drop failed", "command", "drop", "dead_letter", id, "err", err)
		return DeadLetter{}, err
	}
	// A dropped registration is never stored: its code must say so, and the
	// child must be free to be registered again.
	var a enrollment.Application
	decoded := json.Unmarshal([]byte(dl.Payload), &a) == nil && a.TrackingCode != ""
	dl.Payload = ""
	var n *redis.IntCmd
	_, err = d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.XDel(ctx, d.cfg.Keys.Dead(), id)
		p.HDel(ctx, d.cfg.Keys.Failures(), dl.Entry)
		if decoded {
			releaseChild.Eval(ctx, p, []string{d.cfg.Keys.Child(a.Level, a.SchoolYear, a.Child.IDNumber)}, a.TrackingCode+" ")
			p.Set(ctx, d.cfg.Keys.App(a.TrackingCode), notStoredStatus(&a), DefaultKeyTTL)
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("drop dead letter %s: %w", id, err)
		d.log.Warn("deadletters: drop failed", "command", "drop", "dead_letter", id, "err", err)
		return DeadLetter{}, err
	}
	if n.Val() == 0 { // dropped or replayed meanwhile
		return DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, ErrNoDeadLetter)
	}
	d.log.Warn("deadletters: dropped; the application was not stored, its code answers not_stored and the child may be registered again",
		"command", "drop", "dead_letter", id, "entry", dl.Entry, "application", dl.ApplicationID, "status_updated", decoded)
	return dl, nil
}

// releaseChild deletes a child's duplicate guard if it still names the
// given tracking code (ARGV[1] is the code and a space, as the guard's
// value starts), so a later registration of the child is never released.
var releaseChild = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// notStoredStatus is the status document of a registration that was
// dropped from the dead letters: it will never be stored. Redis is the only
// place that knows its code, so it keeps the document as long as a
// duplicate guard.
func notStoredStatus(a *enrollment.Application) []byte {
	view := enrollment.NewStatusView(a, enrollment.StatusNotStored, time.Time{})
	view.Child, view.Choices = "", nil
	doc, _ := json.Marshal(view) // a struct of strings and times always encodes
	return doc
}
