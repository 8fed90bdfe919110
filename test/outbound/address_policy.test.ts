import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPrivateAddress } from "../../src/outbound/address_policy.js";

describe("isPrivateAddress", () => {
  it("refuses loopback, private, link-local (cloud metadata), CGNAT, multicast and unspecified addresses", () => {
    for (const address of ["127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fd00::1", "fe80::1", "ff02::1"]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
  });

  it("judges IPv4 written as IPv6 as the IPv4 it is", () => {
    for (const address of ["::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:a9fe:a9fe", "[::1]", "::127.0.0.1"]) assert.equal(isPrivateAddress(address), true, address);
    assert.equal(isPrivateAddress("::ffff:8.8.8.8"), false);
  });

  it("lets public addresses through", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "2001:4860:4860::8888"]) assert.equal(isPrivateAddress(address), false, address);
  });

  it("treats anything that is not an IP address as private (names must be resolved first)", () => {
    assert.equal(isPrivateAddress("localhost"), true);
    assert.equal(isPrivateAddress(""), true);
  });
});
