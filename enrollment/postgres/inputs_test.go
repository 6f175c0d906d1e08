package postgres_test

import (
	"bytes"
	"testing"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// TestRunsShareTheirInput: runs of the same children (DA and Boston, other
// quotas) keep the children once; a run of other children keeps its own;
// each run's instance file is its own, byte for byte; publishing keeps the
// instance file itself and the public file is that file.
func TestRunsShareTheirInput(t *testing.T) {
	t.Parallel()
	store, _ := newStore(t)
	ctx := t.Context()
	if err := store.CommitSeed(ctx, postgres.Seed{Level: "lop1", SchoolYear: 2027, Seed: "s", Commitment: "c", CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	gen := func(seed int64) *allocation.Instance {
		return allocation.Generate(allocation.GenConfig{Students: 500, Schools: 4, Choices: 2, Seed: seed})
	}
	da := gen(1)
	boston := gen(1)
	boston.Mechanism = allocation.MechanismBoston
	boston.Schools[0].Quota += 10
	other := gen(2)
	file := func(inst *allocation.Instance) []byte {
		var b bytes.Buffer
		if err := allocation.EncodeInstance(&b, inst); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	ids := map[*allocation.Instance]int64{}
	for _, inst := range []*allocation.Instance{da, boston, other} {
		r, err := store.InsertRun(ctx, postgres.Run{Level: "lop1", SchoolYear: 2027, Round: 1, Mechanism: string(inst.Mechanism),
			Include: "accepted", SeedCommitment: "c", Stats: []byte(`{}`), CreatedBy: "test"}, inst, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[inst] = r.ID
	}
	var inputs int
	if err := store.Handle().GetContext(ctx, &inputs, `SELECT count(*) FROM placement_inputs`); err != nil {
		t.Fatal(err)
	}
	if inputs != 2 {
		t.Errorf("%d inputs kept for three runs of two sets of children, want 2", inputs)
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
