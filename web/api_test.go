package web

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReceiptJSON: the hand-assembled receipt is the JSON encoding of a
// receipt.
func TestReceiptJSON(t *testing.T) {
	t.Parallel()
	for _, tail := range [][]byte{queuedTail, repeatedTail} {
		var got receipt
		b := receiptJSON("KGQW54GAS6PA7R22J9TS", tail)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("receipt is not JSON: %v\n%s", err, b)
		}
		want := receipt{TrackingCode: "KGQW54GAS6PA7R22J9TS", StatusURL: "/api/v1/applications/KGQW54GAS6PA7R22J9TS",
			StatusPage: "/tra-cuu.html?code=KGQW54GAS6PA7R22J9TS", Status: got.Status, Message: got.Message, MessageEN: got.MessageEN}
		if diff := cmp.Diff(want, got); diff != "" || got.Message == "" || got.MessageEN == "" || got.Status == "" {
			t.Errorf("receipt (-want +got):\n%s", diff)
		}
	}
}
