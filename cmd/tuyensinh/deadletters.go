package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment/intake"
)

const deadLettersUsage = `usage: tuyensinh deadletters <action>

  list                  one line per dead letter, without personal data
  show ID               one dead letter with its application (personal data: stdout only)
  replay ID... | --all  store again, idempotently; a stored one leaves the dead letters
  drop ID...            delete without storing

IDs are the dead-letter ids that list prints. Needs DATABASE_URL and REDIS_URL.
`

// runDeadLetters is the operator's handle on the entries the intake
// workers could not store. The work is intake.DeadLetters'; this prints.
func runDeadLetters(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, deadLettersUsage)
		if len(args) == 0 {
			return errors.New("deadletters: no action given")
		}
		return nil
	}
	action, ids := args[0], args[1:]
	all := false
	if action == "replay" {
		var rest []string
		for _, a := range ids {
			if a == "--all" || a == "-all" {
				all = true
			} else {
				rest = append(rest, a)
			}
		}
		ids = rest
		if all == (len(ids) > 0) {
			fmt.Fprint(stderr, deadLettersUsage)
			return errors.New("deadletters replay: give dead-letter ids or --all, not both")
		}
	}
	switch {
	case action != "list" && action != "show" && action != "replay" && action != "drop":
		fmt.Fprint(stderr, deadLettersUsage)
		return fmt.Errorf("deadletters: unknown action %q", action)
	case action == "list" && len(ids) > 0, action == "show" && len(ids) != 1, action == "drop" && len(ids) == 0:
		fmt.Fprint(stderr, deadLettersUsage)
		return fmt.Errorf("deadletters %s: wrong arguments", action)
	}

	a, err := connect(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	d := intake.NewDeadLetters(a.rdb, a.pg, intake.DeadLettersConfig{Keys: a.keys, StatusGrace: a.cfg.StatusGrace, Logger: a.log})
	switch action {
	case "list":
		return listDeadLetters(ctx, d, stdout)
	case "show":
		return showDeadLetter(ctx, d, ids[0], stdout)
	case "replay":
		if all {
			list, err := d.List(ctx)
			if err != nil {
				return err
			}
			for _, dl := range list {
				ids = append(ids, dl.ID)
			}
		}
		return replayDeadLetters(ctx, d, ids, stdout)
	}
	failed := 0
	for _, id := range ids {
		if _, err := d.Drop(ctx, id); err != nil {
			fmt.Fprintf(stdout, "not dropped %s: %v\n", id, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "dropped %s: not stored; its status still reads queued\n", id)
	}
	if failed > 0 {
		return fmt.Errorf("deadletters drop: %d of %d not dropped", failed, len(ids))
	}
	return nil
}

func listDeadLetters(ctx context.Context, d *intake.DeadLetters, stdout io.Writer) error {
	list, err := d.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEAD LETTER\tENTRY\tFAILURES\tCONSUMER\tAT\tTRACKING CODE\tREASON")
	for _, dl := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", dl.ID, dl.Entry, dl.Failures, dash(dl.Consumer),
			at(dl.At), dash(dl.TrackingCode), strconv.Quote(dl.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d dead letters\n", len(list))
	return nil
}

func showDeadLetter(ctx context.Context, d *intake.DeadLetters, id string, stdout io.Writer) error {
	dl, err := d.Get(ctx, id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, f := range [][2]string{
		{"dead letter", dl.ID}, {"entry", dl.Entry}, {"application", dash(dl.ApplicationID)},
		{"tracking code", dash(dl.TrackingCode)}, {"reason", dl.Reason}, {"failures", strconv.FormatInt(dl.Failures, 10)},
		{"consumer", dash(dl.Consumer)}, {"at", at(dl.At)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", f[0], f[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	payload := []byte(dl.Payload)
	var pretty bytes.Buffer
	if json.Indent(&pretty, payload, "", "  ") == nil {
		payload = pretty.Bytes()
	}
	fmt.Fprintf(stdout, "application (personal data: do not copy it into tickets or logs):\n%s\n", payload)
	return nil
}

func replayDeadLetters(ctx context.Context, d *intake.DeadLetters, ids []string, stdout io.Writer) error {
	failed := 0
	for i, id := range ids {
		r, err := d.Replay(ctx, id)
		if err != nil {
			fmt.Fprintf(stdout, "not replayed %s: %v\n", id, err)
			failed++
			if errors.Is(err, intake.ErrStoreUnavailable) {
				// The next ones would fail alike; they stay for later.
				fmt.Fprintf(stdout, "stopped: %d dead letters not tried\n", len(ids)-i-1)
				failed += len(ids) - i - 1
				break
			}
			continue
		}
		fmt.Fprintf(stdout, "replayed %s: application %s, tracking code %s, %s\n", id, r.ApplicationID, r.TrackingCode, r.Outcome)
	}
	if failed > 0 {
		return fmt.Errorf("deadletters replay: %d of %d not replayed; they stay in the dead letters", failed, len(ids))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func at(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
