package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/crmsync/crmsync"
)

// maxAttachment is the largest problems workbook sent with a mail; a larger
// one is named in the body instead (mail servers refuse big messages).
const maxAttachment = 10 << 20

func (d *Destination) sendEmail(ctx context.Context, n crmsync.Notice) error {
	c := d.Config
	l := parseLang(n.Lang)
	body, _ := render(n, plain, -1)

	attach := ""
	if n.Problems != "" && c.attach() {
		switch fi, err := os.Stat(n.Problems); {
		case err != nil || !fi.Mode().IsRegular():
			body += "\n" + fmt.Sprintf(l.T("notAttached"), l.T("unreadable")) + "\n"
		case fi.Size() > maxAttachment:
			body += "\n" + fmt.Sprintf(l.T("notAttached"), fmt.Sprintf(l.T("tooBig"), maxAttachment>>20)) + "\n"
		default:
			attach = n.Problems
			body += "\n" + l.T("attached") + "\n"
		}
	}

	return d.retry(ctx, func(ctx context.Context) (*Error, time.Duration) {
		m := mail.NewMsg()
		if err := m.From(c.From); err != nil {
			return d.fail(0, fieldErr("from", "not an email address")), 0
		}
		if err := m.To(c.To...); err != nil {
			return d.fail(0, fieldErr("to", "not an email address")), 0
		}
		m.Subject(title(n))
		m.SetDateWithValue(d.now())
		m.SetMessageID()
		m.SetBodyString(mail.TypeTextPlain, body)
		if attach != "" {
			m.AttachFile(attach, mail.WithFileName(filepath.Base(attach)),
				mail.WithFileContentType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
		}
		client, err := d.smtpClient()
		if err != nil {
			return d.fail(0, err), 0
		}
		if err := client.DialAndSendWithContext(ctx, m); err != nil {
			e := d.fail(0, err)
			e.temporary = smtpTransient(err)
			var se *mail.SendError
			if errors.As(err, &se) {
				e.Message = d.redact.Replace(se.Error())
			}
			return e, 0
		}
		return nil, 0
	})
}

// smtpClient is a go-mail client for the destination's TLS mode.
func (d *Destination) smtpClient() (*mail.Client, error) {
	c := d.Config
	tc := &tls.Config{ServerName: c.SMTPHost, MinVersion: tls.VersionTLS12}
	if d.TLS != nil {
		tc = d.TLS.Clone()
		if tc.ServerName == "" {
			tc.ServerName = c.SMTPHost
		}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	opts := []mail.Option{mail.WithPort(c.port()), mail.WithTimeout(timeout), mail.WithTLSConfig(tc)}
	switch c.tlsMode() {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if c.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(c.Username), mail.WithPassword(d.password))
	}
	return mail.NewClient(c.SMTPHost, opts...)
}

// smtpTransient reports whether a mail failure may pass: a 4xx answer, a
// timeout or a connection that failed; not a refused login or a 5xx.
func smtpTransient(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) && se.IsTemp() {
		return true
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	return transient(err)
}
