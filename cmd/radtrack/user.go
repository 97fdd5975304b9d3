package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// runUser is "radtrack user add NAME [-role R | -admin]": the password is read
// from standard input (one line), so it never appears in shell history.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "add" {
		return fmt.Errorf("usage: radtrack user add NAME [-role viewer|operator|admin] [-admin]  (password on stdin)")
	}
	name, rest := args[1], args[2:]
	var (
		db    dbConfig
		role  string
		admin bool
	)
	f := newFlagSet("user add", stderr)
	db.register(f)
	f.fs.StringVar(&role, "role", auth.RoleViewer, "viewer, operator or admin")
	f.fs.BoolVar(&admin, "admin", false, "shorthand for -role admin")
	if err := f.Parse(rest); err != nil {
		return err
	}
	if admin {
		role = auth.RoleAdmin
	}
	if !auth.ValidRole(role) {
		return fmt.Errorf("-role %q: must be viewer, operator or admin", role)
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "password: ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	hash, err := auth.HashPassword(strings.TrimRight(line, "\r\n"), auth.DefaultBcryptCost)
	if err != nil {
		return err
	}
	st, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, store.User{Username: name, Role: role, PasswordHash: hash})
	if err != nil {
		return err
	}
	if err := st.AppendAudit(ctx, store.AuditEntry{Action: "user.create", Target: "user/" + u.Username, Details: []byte(`{"via":"cli"}`)}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %d %q (%s) created\n", u.ID, u.Username, u.Role)
	return nil
}
