package main

import (
	"path/filepath"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/notify"
)

// registerNotifyFlags reads the notification settings (README
// "Notification routing and escalation"); call the returned func after
// parsing.
func registerNotifyFlags(f *envFlags, c *app.NotifyConfig, dataDir *string) (finish func()) {
	f.Bool(&c.Off, "notify-off", "RADTRACK_NOTIFY_OFF", false, "disable incident notifications and their API")
	f.String(&c.MQTTURL, "mqtt-url", "RADTRACK_MQTT_URL", "", "MQTT broker for incident events, mqtt://[user:pass@]host:1883 or mqtts:// (unset: no MQTT)")
	f.String(&c.SMTP.Host, "smtp-host", "RADTRACK_SMTP_HOST", "", "SMTP submission server for e-mail notifications (unset: no e-mail)")
	f.Int(&c.SMTP.Port, "smtp-port", "RADTRACK_SMTP_PORT", 587, "SMTP port (465 with -smtp-security tls)")
	var security string
	f.String(&security, "smtp-security", "RADTRACK_SMTP_SECURITY", string(notify.SMTPStartTLS), "starttls (required), opportunistic or tls (implicit)")
	f.String(&c.SMTP.Username, "smtp-username", "RADTRACK_SMTP_USERNAME", "", "SMTP AUTH user (unset: no AUTH)")
	f.String(&c.SMTP.Password, "smtp-password", "RADTRACK_SMTP_PASSWORD", "", "SMTP AUTH password")
	f.String(&c.SMTP.From, "smtp-from", "RADTRACK_SMTP_FROM", "", "From address of notification mail, e.g. \"RadTrack <radtrack@example.org>\"")
	f.String(&c.VAPIDFile, "vapid-file", "RADTRACK_VAPID_FILE", "", "Web Push VAPID key pair, created on first start (default DATA/vapid.json; \"off\" disables Web Push)")
	f.String(&c.VAPIDSubject, "vapid-subject", "RADTRACK_VAPID_SUBJECT", "mailto:radtrack@localhost", "contact push services may use: mailto: or https: URL")
	f.String(&c.CAPSender, "cap-sender", "RADTRACK_CAP_SENDER", "radtrack@localhost", "CAP sender identifier for CAP webhook bodies")
	return func() {
		c.SMTP.Security = notify.SMTPSecurity(security)
		if c.VAPIDFile == "" {
			c.VAPIDFile = filepath.Join(*dataDir, "vapid.json")
		}
	}
}
