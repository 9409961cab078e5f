"""Room-codec and bridge status APIs: Cisco xAPI, Poly REST, Jitsi, and what their drivers share."""
