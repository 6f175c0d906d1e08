package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "http://127.0.0.1:8080" || o.Scenario != "intake" || o.Connections != 64 || o.Label != "intake" ||
		o.Duration != 15*time.Second || !o.Verify || !o.WaitDrain {
		t.Errorf("defaults = %+v", o)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"-target", "http://localhost:9000/", "-scenario", "status", "-codes", "c.txt",
		"-profile", "midnight", "-rate", "5000", "-ramp", "2s", "-decay", "30s", "-max-requests", "1000", "-connections", "8",
		"-database-url", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable", "-json", "-label", "st"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "http://localhost:9000" || o.Scenario != "status" || o.Profile != "midnight" || o.Rate != 5000 ||
		o.Ramp != 2*time.Second || o.Decay != 30*time.Second || o.MaxRequests != 1000 || o.Connections != 8 || !o.JSON || o.Label != "st" {
		t.Errorf("parsed = %+v", o)
	}
}

func TestParseFlagsRefusesWhatIsNotLoopback(t *testing.T) {
	t.Parallel()
	for _, target := range []string{
		"http://10.0.0.1:8080", "http://example.com", "http://192.168.1.10", "http://[2001:db8::1]:80",
		"http://0.0.0.0:8080", "http://127.0.0.1.example.com", "https://127.0.0.1", "127.0.0.1:8080",
	} {
		if _, err := parseFlags([]string{"-target", target}, io.Discard); err == nil {
			t.Errorf("-target %s: accepted", target)
		}
	}
	for _, target := range []string{"http://127.0.0.1:1", "http://127.8.9.10:80", "http://[::1]:8080", "http://LOCALHOST:8080"} {
		if _, err := parseFlags([]string{"-target", target}, io.Discard); err != nil {
			t.Errorf("-target %s: %v", target, err)
		}
	}
	for _, db := range []string{"postgres://postgres@db.example.com/x", "postgres://u@10.1.1.1:5432/x", "postgres:///x?host=10.0.0.2", "mysql://127.0.0.1/x"} {
		if _, err := parseFlags([]string{"-database-url", db}, io.Discard); err == nil {
			t.Errorf("-database-url %s: accepted", db)
		}
	}
	for _, db := range []string{"postgres://postgres@127.0.0.1:5432/x?sslmode=disable", "postgres:///x?host=/var/run/postgresql", "postgresql://localhost/x"} {
		if _, err := parseFlags([]string{"-database-url", db}, io.Discard); err != nil {
			t.Errorf("-database-url %s: %v", db, err)
		}
	}
}

func TestParseFlagsReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := parseFlags([]string{"-target", "http://10.0.0.1", "-scenario", "nope", "-profile", "midnight", "-duration", "2h",
		"-connections", "0", "-dup", "0.7", "-invalid", "0.5", "-max-requests", "20000000"}, io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"-target", "-scenario", "-profile midnight needs a peak -rate", "-duration", "-connections", "-dup", "-max-requests"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := parseFlags([]string{"-scenario", "status"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-codes") {
		t.Errorf("status without -codes: %v", err)
	}
	if _, err := parseFlags([]string{"stray"}, io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
}
