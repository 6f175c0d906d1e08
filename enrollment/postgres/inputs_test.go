package postgres_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	neturl "net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestRunsShareTheirInput: runs of the same children (DA and Boston, other
// quotas) keep the children once; a run where one child changed keeps
// only that child's chunk anew; a run of other children keeps its own;
// each run's instance file is its own, byte for byte; publishing keeps
// the instance file itself and the public file is that file.
func TestRunsShareTheirInput(t *testing.T) {
	t.Parallel()
	for _, binary := range []bool{false, true} {
		t.Run(fmt.Sprintf("binary=%v", binary), func(t *testing.T) {
			t.Parallel()
			url := testenv.NewDatabase(t)
			store := postgres.New(sqlx.MustOpen("postgres", url))
			t.Cleanup(func() { store.Handle().Close() })
			if binary {
				bin, err := postgres.OpenBinary(url, 1)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { bin.Close() })
				store.WithBinaryWrites(bin)
			}
			if err := store.SaveReference(t.Context(), democity.Reference(testNow)); err != nil {
				t.Fatal(err)
			}
			runsShareTheirInput(t, store)
		})
	}
}

func runsShareTheirInput(t *testing.T, store *postgres.DB) {
	ctx := t.Context()
	if err := store.CommitSeed(ctx, postgres.Seed{Level: "lop1", SchoolYear: 2027, Seed: "s", Commitment: "c", CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	// Named by pseudonyms in their order, as a run's children are: 20,000
	// of them make several chunks.
	gen := func(seed int64) *allocation.Instance {
		inst := allocation.Generate(allocation.GenConfig{Students: 20_000, Schools: 4, Choices: 2, Seed: seed})
		for i := range inst.Students {
			h := sha256.Sum256([]byte(inst.Students[i].ID))
			inst.Students[i].ID = hex.EncodeToString(h[:])
		}
		slices.SortFunc(inst.Students, func(a, b allocation.Student) int { return strings.Compare(a.ID, b.ID) })
		return inst
	}
	da := gen(1)
	boston := gen(1)
	boston.Mechanism = allocation.MechanismBoston
	boston.Schools[0].Quota += 10
	changed := gen(1)
	changed.Students[12_345].PriorityGroup++
	other := gen(2)
	file := func(inst *allocation.Instance) []byte {
		var b bytes.Buffer
		if err := allocation.EncodeInstance(&b, inst); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	ids := map[*allocation.Instance]int64{}
	kept := []postgres.Assignment{{ApplicationID: "00000000-0000-7000-8000-000000000001", Pseudonym: "p", School: "TH-BADINH-01",
		Via: "kept", ChoiceRank: 1, Lottery: "ab"}}
	inputs := func() (n int) {
		t.Helper()
		if err := store.Handle().GetContext(ctx, &n, `SELECT count(*) FROM placement_inputs`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var added []int
	for _, inst := range []*allocation.Instance{da, boston, changed, other} {
		before := inputs()
		r, err := store.InsertRun(ctx, postgres.Run{Level: "lop1", SchoolYear: 2027, Round: 1, Mechanism: string(inst.Mechanism),
			Include: "accepted", SeedCommitment: "c", Stats: []byte(`{"students": 500}`), CreatedBy: "test"}, inst, kept)
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, inputs()-before)
		var st map[string]int
		if err := json.Unmarshal(r.Stats, &st); err != nil || st["students"] != 500 || r.Mechanism != string(inst.Mechanism) {
			t.Errorf("run as stored: %s %s, %v", r.Mechanism, r.Stats, err)
		}
		got, err := store.RunKept(ctx, r.ID)
		if err != nil || len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(kept[0]) {
			t.Errorf("kept children: %+v, %v", got, err)
		}
		ids[inst] = r.ID
	}
	// The tables' chunk and 8 of the children's (20,000 children by the
	// first 3 bits of their pseudonyms).
	if added[0] != 9 || added[1] != 0 || added[2] != 1 || added[3] < 8 {
		t.Errorf("chunks kept anew by a run, DA, Boston on the same children, one child changed, other children: %v, want [9 0 1 ≥8]", added)
	}
	for inst, id := range ids {
		got, err := store.RunFile(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, file(inst)) {
			t.Errorf("run %d: the instance file is not the run's own", id)
		}
	}

	// Publishing keeps the file; the public file is it.
	_, err := store.Publish(ctx, ids[boston], postgres.Publication{Instance: file(boston), Result: []byte(`{}`),
		Lines: func(func(postgres.Assignment) error) error { return nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := store.PublishedFile(ctx, ids[boston], postgres.FileInstance)
	if err != nil || !bytes.Equal(pub, file(boston)) {
		t.Errorf("public instance file: %v, %d bytes, want the run's own", err, len(pub))
	}
	if got, err := store.RunFile(ctx, ids[da], false); err != nil || !bytes.Equal(got, file(da)) {
		t.Errorf("the DA run's file after the Boston run was published: %v", err)
	}
}

// TestOpenBinary: a handle from OpenBinary, on a URL or a key=value
// string, sends []byte parameters as binary: PostgreSQL then reads `{}`
// as a binary jsonb, which it refuses, where it reads the text in the
// ordinary handle.
func TestOpenBinary(t *testing.T) {
	t.Parallel()
	url := testenv.NewDatabase(t)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	kv := fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=%s sslmode=disable", u.Hostname(), cmp.Or(u.Port(), "5432"),
		u.User.Username(), pass, strings.TrimPrefix(u.Path, "/"))
	plain := sqlx.MustOpen("postgres", url)
	defer plain.Close()
	if _, err := plain.ExecContext(t.Context(), `SELECT $1::jsonb`, []byte(`{}`)); err != nil {
		t.Fatalf("ordinary handle: %v", err)
	}
	for _, dsn := range []string{url, kv} {
		bin, err := postgres.OpenBinary(dsn, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bin.ExecContext(t.Context(), `SELECT $1::jsonb`, []byte(`{}`)); err == nil {
			t.Errorf("%s: []byte sent as text", dsn)
		}
		var n int
		if err := bin.GetContext(t.Context(), &n, `SELECT length($1::bytea)`, []byte{0, 1, 2}); err != nil || n != 3 {
			t.Errorf("%s: bytea of 3 bytes: %d, %v", dsn, n, err)
		}
		bin.Close()
	}
}
