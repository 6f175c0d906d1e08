package intake_test

import (
	"testing"
)

// TestRelease: the guard is released only while it names the voided
// application; a later registration's guard stays.
func TestRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	a := b.app(t, 1)
	first, err := b.queue.Submit(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	key := b.keys.Child(a.Level, a.SchoolYear, a.Child.IDNumber)
	// Another code's release leaves the guard alone.
	if err := b.queue.Release(ctx, a.Level, a.SchoolYear, a.Child.IDNumber, "0000000000000000000Z"); err != nil {
		t.Fatal(err)
	}
	if n := b.rdb.Exists(ctx, key).Val(); n != 1 {
		t.Fatalf("guard released for another code")
	}
	if err := b.queue.Release(ctx, a.Level, a.SchoolYear, a.Child.IDNumber, first.TrackingCode); err != nil {
		t.Fatal(err)
	}
	if n := b.rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("guard kept after its application's release")
	}
	again := b.app(t, 1)
	again.Choices = []string{"TH-BADINH-02"}
	second, err := b.queue.Submit(ctx, again)
	if err != nil || second.Repeated || second.TrackingCode == first.TrackingCode {
		t.Fatalf("registration after the release = %+v, %v; want a new application", second, err)
	}
	// Releasing the old code again does not free the new registration.
	if err := b.queue.Release(ctx, a.Level, a.SchoolYear, a.Child.IDNumber, first.TrackingCode); err != nil {
		t.Fatal(err)
	}
	if n := b.rdb.Exists(ctx, key).Val(); n != 1 {
		t.Errorf("the new registration's guard was released by the old code")
	}
}
