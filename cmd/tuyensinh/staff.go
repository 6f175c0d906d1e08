package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

const staffUsage = `usage:
  tuyensinh staff add USERNAME --role city|authority|school [--scope CODE] [--name NAME]
  tuyensinh staff passwd USERNAME
  tuyensinh staff disable USERNAME

The password of add and passwd is read from STAFF_PASSWORD if set, or else
as one line from standard input; it is never an argument, which other users
of the machine could read from the process list. Every change is recorded
in staff_events.
`

// runStaff manages staff accounts: add, passwd, disable.
func runStaff(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, staffUsage)
		return errors.New("staff: no action given")
	}
	action, args := args[0], args[1:]
	fs := flag.NewFlagSet("staff "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, staffUsage) }
	var role, scope, name *string
	if action == "add" {
		role = fs.String("role", "", "city, authority or school")
		scope = fs.String("scope", "", "the authority code (role authority) or school code (role school); none for city")
		name = fs.String("name", "", "the person's or office's name, shown to colleagues")
	}
	// The username comes first, as the usage shows; flags may follow it.
	var username string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		username, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if username == "" && fs.NArg() > 0 {
		username = fs.Arg(0)
	}
	if username == "" || fs.NArg() > 1 || (fs.NArg() == 1 && fs.Arg(0) != username) {
		fs.Usage()
		return fmt.Errorf("staff %s: want one USERNAME", action)
	}
	switch action {
	case "add", "passwd", "disable":
	default:
		fs.Usage()
		return fmt.Errorf("staff: unknown action %q (want add, passwd or disable)", action)
	}
	db, err := openDatabase(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateUp(ctx, db, nil); err != nil {
		return err
	}
	st := staff.NewStore(db)
	switch action {
	case "add":
		u := staff.User{Username: username, Role: staff.Role(*role), Scope: *scope, Name: *name}
		hash, err := readPassword(getenv, stdin)
		if err != nil {
			return err
		}
		if err := st.Add(ctx, u, hash); err != nil {
			return fmt.Errorf("staff add: %w", err)
		}
		fmt.Fprintf(stdout, "staff account %s added: role %s, scope %q\n", u.Username, u.Role, u.Scope)
	case "passwd":
		hash, err := readPassword(getenv, stdin)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, username, hash); err != nil {
			return fmt.Errorf("staff passwd: %w", err)
		}
		fmt.Fprintf(stdout, "password of %s changed; its lockout, if any, is cleared\n", username)
	case "disable":
		if err := st.Disable(ctx, username); err != nil {
			return fmt.Errorf("staff disable: %w", err)
		}
		fmt.Fprintf(stdout, "staff account %s disabled; its open sessions end at their next request\n", username)
	}
	return nil
}

// readPassword reads a new password from STAFF_PASSWORD or the first line
// of stdin and returns its hash.
func readPassword(getenv func(string) string, stdin io.Reader) (string, error) {
	pw := getenv("STAFF_PASSWORD")
	if pw == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return "", errors.New("no password: set STAFF_PASSWORD or write it as one line on standard input")
	}
	return staff.HashPassword(pw)
}
