package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestDeadLettersCommand drives `tuyensinh deadletters` through run: list
// shows no personal data, show shows the application, replay stores it
// and empties the dead letters, drop deletes one, and the log of it all
// holds no personal data.
func TestDeadLettersCommand(t *testing.T) {
	t.Parallel()
	dbURL := testenv.NewDatabase(t)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	if err := postgres.New(db).SaveReference(t.Context(), democity.Reference(now)); err != nil {
		t.Fatal(err)
	}
	rdb, prefix := testenv.Redis(t)
	env := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(), "REDIS_PREFIX": prefix}
	getenv := func(k string) string { return env[k] }
	var logs bytes.Buffer
	dl := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"deadletters"}, args...), getenv, &out, &logs)
		return out.String(), err
	}

	reg := registration(7, democity.SchoolYear(now))
	code := enrollment.NewTrackingCode()
	reg["id"], reg["tracking_code"], reg["submitted_at"] = uuid.Must(uuid.NewV7()).String(), code, now.UTC().Format(time.RFC3339Nano)
	child := reg["child"].(map[string]any)
	guardian := reg["guardian"].(map[string]any)
	secrets := []string{child["id_number"].(string), child["full_name"].(string), guardian["full_name"].(string), guardian["phone"].(string)}
	add := func(payload string) string {
		id, err := rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: prefix + ":intake:dead", Values: []any{
			"entry", "1-1", "reason", "database refused: SQLSTATE 23503 foreign_key_violation", "failures", 5,
			"consumer", "w1", "at", now.UTC().Format(time.RFC3339Nano), "a", payload}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	good := add(string(mustJSON(reg)))
	junk := add("{not json")

	out, err := dl("list")
	if err != nil {
		t.Fatalf("deadletters list = %v\n%s", err, out)
	}
	for _, want := range []string{good, junk, code, "foreign_key_violation", "2 dead letters"} {
		if !strings.Contains(out, want) {
			t.Errorf("deadletters list lacks %q:\n%s", want, out)
		}
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("deadletters list shows personal data %q:\n%s", s, out)
		}
	}
	if out, err := dl("show", good); err != nil || !strings.Contains(out, secrets[0]) || !strings.Contains(out, code) {
		t.Errorf("deadletters show = %v, want the application:\n%s", err, out)
	}
	if out, err := dl("show"); err == nil {
		t.Errorf("deadletters show without an id succeeded:\n%s", out)
	}

	out, err = dl("replay", "--all")
	if err == nil || !strings.Contains(out, "replayed "+good) || !strings.Contains(out, "not replayed "+junk) {
		t.Errorf("deadletters replay --all = %v, want the good one replayed and the junk failing:\n%s", err, out)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM applications WHERE tracking_code = $1`, code); err != nil || n != 1 {
		t.Errorf("applications with code %s = %d, %v; want 1", code, n, err)
	}
	if out, err := dl("replay", good); err == nil {
		t.Errorf("replaying a replayed dead letter succeeded:\n%s", out)
	}
	if out, err := dl("drop", junk); err != nil || !strings.Contains(out, "dropped "+junk) {
		t.Errorf("deadletters drop = %v:\n%s", err, out)
	}
	if n, err := rdb.XLen(t.Context(), prefix+":intake:dead").Result(); err != nil || n != 0 {
		t.Errorf("dead letters left = %d, %v; want 0", n, err)
	}
	for _, s := range append(secrets, code) {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds %q:\n%s", s, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "deadletters: replayed") || !strings.Contains(logs.String(), "deadletters: dropped") {
		t.Errorf("the log does not record the replay and the drop:\n%s", logs.String())
	}
}
