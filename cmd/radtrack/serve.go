package main

import (
	"context"
	"fmt"
	"io"

	"github.com/radtrack/radtrack/app"
)

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, logLevel, err := parseServeConfig(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, logLevel)
	node, err := app.New(ctx, cfg, log, func(user, password string) {
		// Printed once, on the first start only: there is no other copy.
		fmt.Fprintf(stderr, "\n  First start: created user %q with password %s\n  Log in and change it (PATCH /api/v1/users/{id}).\n\n", user, password)
	})
	if err != nil {
		return err
	}
	return node.Run(ctx)
}
