package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Message is what a Sender delivers.
type Message struct {
	// IdempotencyKey is the outbox id of the message. A message may be
	// handed to the Sender twice (a drainer died mid-send); a Sender passes
	// the key to its provider so the parent receives it once.
	IdempotencyKey string
	Kind           string
	// Subject is a one-line title, for senders that have one (e-mail).
	Subject string
	Phone   string
	Email   string
	Text    string
}

// Sender delivers messages to parents (by text message, e-mail, …). Send
// returns nil once the provider has taken the message; an error means it
// is tried again later.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// LogSender is the Sender of the demo: it only logs that a message would be
// sent, with its kind, id and the recipient's last three phone digits,
// never the text (it holds the tracking code) nor the recipient.
type LogSender struct{ Log *slog.Logger }

// Send logs the message and returns nil.
func (s LogSender) Send(ctx context.Context, m Message) error {
	s.Log.InfoContext(ctx, "outbox: message sent (log sender: nothing leaves the server)",
		"kind", m.Kind, "message", m.IdempotencyKey, "to", MaskPhone(m.Phone))
	return nil
}

// MaskPhone keeps the last three digits of a phone number: enough for a
// clerk or a parent to recognise it, not to call it.
func MaskPhone(p string) string {
	if len(p) <= 3 {
		return "***"
	}
	return "***" + p[len(p)-3:]
}

// DrainerConfig configures a Drainer. Zero values take the defaults.
type DrainerConfig struct {
	// Batch is how many messages one claim takes (default 20).
	Batch int
	// Lease is how long a claimed message is left to its drainer before
	// another may take it (default 2m). It must exceed SendTimeout.
	Lease time.Duration
	// SendTimeout bounds one Send (default 30s).
	SendTimeout time.Duration
	// PollEvery is how often the outbox is looked at when nothing is due
	// (default 2s).
	PollEvery time.Duration
	// Backoff spaces the attempts of a message that fails (default
	// DefaultBackoff).
	Backoff Backoff
	// WaitStored is how long a message for an application not stored yet
	// waits before it is tried again (default 30s); such waits do not
	// count as attempts.
	WaitStored time.Duration
	// MaxWait gives up a message whose application is still not stored
	// after this long (default 7 days): it was dead-lettered and not
	// replayed.
	MaxWait time.Duration
	// LookupURL is the status page quoted in messages (default
	// "/tra-cuu.html"); the code is appended as ?code=.
	LookupURL string
	// ResultURL is the parents' result page quoted in the messages of
	// issue 10 (default "/ket-qua.html"); the code is appended as ?code=.
	ResultURL string
	// OwedEvery, when positive, makes Run look this often for messages
	// owed to parents (Store.EnqueueOwed: results published, returns,
	// deadlines) and enqueue them. Zero: Run only sends what others
	// enqueue.
	OwedEvery time.Duration
	// NowFunc returns the current time; time.Now if nil.
	NowFunc func() time.Time
	Logger  *slog.Logger
}

func (c *DrainerConfig) defaults() {
	if c.Batch <= 0 {
		c.Batch = 20
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.Lease <= c.SendTimeout {
		c.Lease = max(2*time.Minute, 2*c.SendTimeout)
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 2 * time.Second
	}
	if c.Backoff.MaxAttempts <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.WaitStored <= 0 {
		c.WaitStored = 30 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 7 * 24 * time.Hour
	}
	if c.LookupURL == "" {
		c.LookupURL = "/tra-cuu.html"
	}
	if c.ResultURL == "" {
		c.ResultURL = "/ket-qua.html"
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Drainer sends the outbox's due messages.
type Drainer struct {
	store  *Store
	sender Sender
	cfg    DrainerConfig
	log    *slog.Logger
}

// NewDrainer returns a drainer of store's messages through sender.
func NewDrainer(store *Store, sender Sender, cfg DrainerConfig) *Drainer {
	cfg.defaults()
	return &Drainer{store: store, sender: sender, cfg: cfg, log: cfg.Logger}
}

// Run drains the outbox until ctx is done, then returns nil. While
// PostgreSQL is down it waits and tries again.
func (d *Drainer) Run(ctx context.Context) error {
	wait := d.cfg.PollEvery
	var lastOwed time.Time
	for ctx.Err() == nil {
		if now := d.cfg.NowFunc(); d.cfg.OwedEvery > 0 && now.Sub(lastOwed) >= d.cfg.OwedEvery {
			if n, err := d.store.EnqueueOwed(ctx, now); err != nil {
				d.log.Warn("outbox: owed messages not looked for; will retry", "err", err)
			} else {
				lastOwed = now
				if n > 0 {
					d.log.Info("outbox: messages owed to parents enqueued", "messages", n)
				}
			}
		}
		n, err := d.Drain(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Warn("outbox: drain failed; will retry", "err", err)
			wait = min(2*wait, time.Minute)
		case err == nil:
			wait = d.cfg.PollEvery
		}
		if n > 0 && err == nil {
			continue // there may be more due
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// Drain claims one batch of due messages and handles each: sent, postponed
// or failed. It returns how many it claimed.
func (d *Drainer) Drain(ctx context.Context) (int, error) {
	entries, err := d.store.Claim(ctx, d.cfg.Batch, d.cfg.Lease)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, e := range entries {
		if ctx.Err() != nil {
			break // shutting down: the rest come due again when their lease ends
		}
		if err := d.handle(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return len(entries), errors.Join(errs...)
}

// handle sends one claimed message and records the outcome. It returns an
// error only when the outcome could not be recorded; the lease then brings
// the message back.
func (d *Drainer) handle(ctx context.Context, e Entry) error {
	// Once a message is in hand its outcome is recorded even while
	// shutting down, so a sent message is not sent again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.SendTimeout+10*time.Second)
	defer cancel()
	id := strconv.FormatInt(e.ID, 10)
	to, err := d.store.recipient(ctx, e.TrackingCode)
	if errors.Is(err, errNotStored) {
		if d.cfg.NowFunc().Sub(e.CreatedAt) > d.cfg.MaxWait {
			d.log.Warn("outbox: application never stored; message given up", "kind", e.Kind, "message", id)
			return d.store.GiveUp(ctx, e.ID, err.Error())
		}
		return d.store.Postpone(ctx, e.ID, err.Error(), d.cfg.WaitStored)
	}
	if err != nil {
		return err
	}
	if to.Phone == "" && to.Email == "" {
		d.log.Warn("outbox: application has no phone or e-mail; message given up", "kind", e.Kind, "message", id)
		return d.store.GiveUp(ctx, e.ID, "no phone or e-mail on the application")
	}
	m, err := d.compose(e, to)
	if err != nil {
		d.log.Error("outbox: message kind unknown; given up", "kind", e.Kind, "message", id)
		return d.store.GiveUp(ctx, e.ID, err.Error())
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	err = d.sender.Send(sctx, m)
	cancel()
	if errors.Is(err, ErrUndeliverable) {
		d.log.Warn("outbox: message cannot be delivered by this sender; given up", "kind", e.Kind, "message", id, "err", err)
		return d.store.GiveUp(ctx, e.ID, err.Error())
	}
	if err != nil {
		gaveUp, merr := d.store.MarkFailed(ctx, e, err.Error(), d.cfg.Backoff)
		if merr != nil {
			return merr
		}
		if gaveUp {
			d.log.Error("outbox: message given up after its last attempt", "kind", e.Kind, "message", id, "attempts", e.Attempts, "err", err)
		} else {
			d.log.Warn("outbox: send failed; will retry", "kind", e.Kind, "message", id, "attempts", e.Attempts, "err", err)
		}
		return nil
	}
	// Sent: if recording it fails, the lease brings the message back and
	// the idempotency key keeps the parent from getting it twice.
	return d.store.MarkSent(ctx, e.ID)
}

// compose writes the text of a message.
func (d *Drainer) compose(e Entry, to Recipient) (Message, error) {
	m := Message{IdempotencyKey: strconv.FormatInt(e.ID, 10), Kind: e.Kind, Subject: Subject(e.Kind), Phone: to.Phone, Email: to.Email}
	result := fmt.Sprintf("%s?code=%s", d.cfg.ResultURL, e.TrackingCode)
	switch e.Kind {
	case KindResultPublished:
		m.Text = fmt.Sprintf("Đã có kết quả tuyển sinh của hồ sơ %s. Xem kết quả và lý do tại %s "+
			"(cần mã tra cứu và số định danh của trẻ). Nếu con được xếp chỗ, hãy xác nhận nhập học trước hạn ghi trên trang.",
			groupCode(e.TrackingCode), result)
		return m, nil
	case KindReturned:
		m.Text = fmt.Sprintf("Nhà trường đã trả lại hồ sơ tuyển sinh %s để bổ sung. Xem lý do và sửa hồ sơ tại %s?code=%s "+
			"trong thời gian đăng ký.", groupCode(e.TrackingCode), d.cfg.LookupURL, e.TrackingCode)
		return m, nil
	case KindConfirmDeadline:
		m.Text = fmt.Sprintf("Nhắc: hạn xác nhận nhập học của hồ sơ %s là trong vòng 24 giờ tới. Nếu chưa xác nhận, "+
			"chỗ học sẽ được xét lại ở vòng sau. Xác nhận tại %s", groupCode(e.TrackingCode), result)
		return m, nil
	case KindCodeResend:
		m.Text = fmt.Sprintf("Mã tra cứu hồ sơ tuyển sinh của con bạn: %s. Tra cứu tại %s?code=%s . "+
			"Nếu bạn không đăng ký thêm hồ sơ nào cho con, có thể ai đó đã dùng số định danh của con: hãy báo nhà trường.",
			groupCode(e.TrackingCode), d.cfg.LookupURL, e.TrackingCode)
		return m, nil
	}
	return Message{}, fmt.Errorf("unknown message kind %q", e.Kind)
}

// groupCode writes a tracking code in groups of five, as the pages show it.
func groupCode(code string) string {
	var b []byte
	for i := 0; i < len(code); i += 5 {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, code[i:min(i+5, len(code))]...)
	}
	return string(b)
}
