package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

// ErrUndeliverable is returned (wrapped) by a Sender for a message it can
// never deliver, such as an e-mail sender given a recipient with no
// e-mail address: the drainer gives the message up at once instead of
// retrying it.
var ErrUndeliverable = errors.New("message cannot be delivered by this sender")

// SMTPSender sends messages as e-mail through an SMTP server (net/smtp),
// with STARTTLS whenever the server offers it. The outbox id goes into the
// Message-ID header: a message handed over twice (a drainer that died
// after the server took it, before recording it) carries the same
// Message-ID both times, which mail stores use to keep one copy.
type SMTPSender struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender's address, "Tuyển sinh <tuyensinh@example.vn>".
	From string
	// Username and Password, when set, sign in with PLAIN auth (which
	// net/smtp allows only over TLS or to localhost).
	Username, Password string
	// TLSConfig, when set, is used for STARTTLS; the default checks the
	// server's certificate against Addr's host.
	TLSConfig *tls.Config
}

// SMTP environment variables, read by SMTPFromEnv.
const (
	EnvSMTPAddr     = "SMTP_ADDR"     // host:port of the SMTP server, required
	EnvSMTPFrom     = "SMTP_FROM"     // sender address, required
	EnvSMTPUsername = "SMTP_USERNAME" // optional: sign in (PLAIN) as this user
	EnvSMTPPassword = "SMTP_PASSWORD" // the user's password
)

// SMTPFromEnv returns the SMTP sender configured by the environment
// (SMTP_ADDR, SMTP_FROM, SMTP_USERNAME, SMTP_PASSWORD), or an error naming
// every variable that is missing or wrong.
func SMTPFromEnv(getenv func(string) string) (*SMTPSender, error) {
	s := &SMTPSender{Addr: getenv(EnvSMTPAddr), From: getenv(EnvSMTPFrom),
		Username: getenv(EnvSMTPUsername), Password: getenv(EnvSMTPPassword)}
	var errs []error
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q: want host:port", EnvSMTPAddr, s.Addr))
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q: want an e-mail address", EnvSMTPFrom, s.From))
	}
	if (s.Username == "") != (s.Password == "") {
		errs = append(errs, fmt.Errorf("%s and %s: set both or neither", EnvSMTPUsername, EnvSMTPPassword))
	}
	return s, errors.Join(errs...)
}

// Send delivers m to its e-mail address. A message without one is
// ErrUndeliverable.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if m.Email == "" {
		return fmt.Errorf("no e-mail address: %w", ErrUndeliverable)
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("smtp: sender %q: %w", s.From, err)
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp: MAIL: %w", err)
	}
	if err := c.Rcpt(m.Email); err != nil {
		return fmt.Errorf("smtp: RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(compose(from, m)); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	// The server takes the message when it answers the final dot.
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	_ = c.Quit() // taken already; a failed QUIT changes nothing
	return nil
}

// MessageID is the Message-ID header of a message sent from the domain of
// from: the same for every attempt at one outbox message.
func MessageID(m Message, from *mail.Address) string {
	domain := "tuyensinh.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 {
		domain = from.Address[i+1:]
	}
	return fmt.Sprintf("<outbox-%s.%s@%s>", m.IdempotencyKey, m.Kind, domain)
}

// compose writes the message as RFC 5322 text, UTF-8 in quoted-printable.
func compose(from *mail.Address, m Message) []byte {
	var b bytes.Buffer
	subject := m.Subject
	if subject == "" {
		subject = Subject(m.Kind)
	}
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", (&mail.Address{Address: m.Email}).String())
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", MessageID(m, from))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}
