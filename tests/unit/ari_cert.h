/*
 * A self-signed certificate with serial 0x87654321 and the authority key
 * identifier of RFC 9773's example, SANs ari.example.com and
 * www.ari.example.com (made with the openssl CLI).  Shared by the unit tests
 * of crypto (certificate parsing) and acme (the ARI certificate identifier).
 */
#ifndef DCV_TEST_ARI_CERT_H
#define DCV_TEST_ARI_CERT_H

static const char ari_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBrTCCAVOgAwIBAgIFAIdlQyEwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPYXJp\n"
	"LmV4YW1wbGUuY29tMB4XDTI2MTEyODIwMTY0NVoXDTI3MDIyNjIwMTY0NVowGjEY\n"
	"MBYGA1UEAwwPYXJpLmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD\n"
	"QgAEUa9kz36kEbUnvFP55Wublg6Jwf7sxl53TO2uz9Fo6Z3/DgOKCBrNoRNj5icS\n"
	"iNGiLwzalgxwsmiE+7wrBTsUY6OBhTCBgjAPBgNVHRMBAf8EBTADAQH/MB0GA1Ud\n"
	"DgQWBBRpiFtrh0ZAQeGze4R7oK4s3gHI1DAfBgNVHSMEGDAWgBRpiFtrh0ZAQeGz\n"
	"e4R7oK4s3gHI1DAvBgNVHREEKDAmgg9hcmkuZXhhbXBsZS5jb22CE3d3dy5hcmku\n"
	"ZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDSAAwRQIgUmFQzMbR0hppU2xqf7RooR2I\n"
	"dER9NkbBCQzwmFKZUaICIQD0+1hTytDQSj8gdZuUaWgVbhE3tZwo1S5kUUlodfn7\n"
	"hw==\n"
	"-----END CERTIFICATE-----\n";

#endif
