// Command tuyensinh runs the online school enrollment service: the HTTP API
// and web pages, the intake workers that drain the Redis buffer into
// PostgreSQL, database migrations, the demo city and the placement engine.
//
// Usage:
//
//	tuyensinh serve   [-workers=true]   HTTP API + web + intake workers
//	tuyensinh worker                    intake workers only
//	tuyensinh migrate [up|status]       apply or list database migrations
//	tuyensinh seed --demo               load the generated demo city
//	tuyensinh place --input F --output F  run the placement engine on a file
//	tuyensinh deadletters list|show ID|replay ID...|--all|drop ID...
//	                                    entries the intake workers could not store
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal during the shutdown ends the process at once.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tuyensinh:", err)
		os.Exit(1)
	}
}
