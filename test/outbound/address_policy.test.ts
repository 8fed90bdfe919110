import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressKey, isPrivateAddress } from "../../src/outbound/address_policy.js";

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

  it("refuses the documentation networks (TEST-NET-1, -2, -3; 2001:db8::/32)", () => {
    for (const address of ["192.0.2.1", "198.51.100.7", "203.0.113.7", "2001:db8::1"]) assert.equal(isPrivateAddress(address), true, address);
    for (const address of ["192.0.3.1", "198.51.101.1", "203.0.114.1"]) assert.equal(isPrivateAddress(address), false, address);
  });

  it("judges IPv4 embedded in SIIT, NAT64 and 6to4 addresses as that IPv4", () => {
    const embedded: Record<string, boolean> = {
      "::ffff:0:127.0.0.1": true, // SIIT
      "::ffff:0:7f00:1": true,
      "::ffff:0:8.8.8.8": false,
      "64:ff9b::127.0.0.1": true, // NAT64
      "64:ff9b::a9fe:a9fe": true,
      "64:ff9b::8.8.8.8": false,
      "2002:7f00:1::": true, // 6to4 of 127.0.0.1
      "2002:a00:1::1": true, // 6to4 of 10.0.0.1
      "2002:808:808::1": false, // 6to4 of 8.8.8.8
      "64:ff9b:1::8.8.8.8": true, // local-use NAT64: private as a whole
    };
    for (const [address, expected] of Object.entries(embedded)) assert.equal(isPrivateAddress(address), expected, address);
  });

  it("reads only well-formed literals as addresses, anything else is private", () => {
    for (const address of ["127.1", "0x7f.0.0.1", "08.8.8.8", "8.8.8.8.", "8.8.8", "1::2::3", "1:2:3:4:5:6:7:8:9", "[8.8.8.8", "2001:4860::8888:", "::ffff:1.2.3.4.5", "8.8.8.256"]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    for (const address of ["2001:4860:4860:0:0:0:0:8888", "[2001:4860:4860::8888]", "2001:4860:4860::8888%eth0", "::ffff:8.8.8.8"]) {
      assert.equal(isPrivateAddress(address), false, address);
    }
  });

  it("addressKey spells one address one way", () => {
    assert.equal(addressKey("127.0.0.1"), addressKey("::ffff:127.0.0.1"));
    assert.equal(addressKey("::ffff:7f00:1"), addressKey("[::ffff:127.0.0.1]"));
    assert.equal(addressKey("2001:db8::1"), addressKey("2001:0db8:0:0:0:0:0:0001"));
    assert.notEqual(addressKey("8.8.8.8"), addressKey("8.8.4.4"));
    assert.equal(addressKey("localhost"), undefined);
  });

  it("holds in a realm whose built-ins were replaced (the analysis preload runs it there)", () => {
    const saved = {
      exec: RegExp.prototype.exec,
      test: RegExp.prototype.test,
      slice: String.prototype.slice,
      startsWith: String.prototype.startsWith,
      charCodeAt: String.prototype.charCodeAt,
      indexOf: String.prototype.indexOf,
      push: Array.prototype.push,
      parseInt: globalThis.parseInt,
    };
    try {
      RegExp.prototype.exec = () => null;
      RegExp.prototype.test = () => false;
      String.prototype.slice = () => "8.8.8.8";
      String.prototype.startsWith = () => false;
      String.prototype.charCodeAt = () => 56;
      String.prototype.indexOf = () => -1;
      Array.prototype.push = () => 0;
      globalThis.parseInt = () => 8;
      // BlockList.prototype.check builds a SocketAddress whose port and flowlabel come from Object.prototype.
      Object.defineProperty(Object.prototype, "flowlabel", { value: -1, configurable: true, writable: true });
      Object.defineProperty(Object.prototype, "port", { value: "x", configurable: true, writable: true });
      Object.defineProperty(Array.prototype, "0", { set() {}, get() { return 8; }, configurable: true });
      for (const address of ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "[::1]", "fd00::1", "localhost"]) {
        assert.equal(isPrivateAddress(address), true, address);
      }
      assert.equal(isPrivateAddress("8.8.8.8"), false);
    } finally {
      RegExp.prototype.exec = saved.exec;
      RegExp.prototype.test = saved.test;
      String.prototype.slice = saved.slice;
      String.prototype.startsWith = saved.startsWith;
      String.prototype.charCodeAt = saved.charCodeAt;
      String.prototype.indexOf = saved.indexOf;
      Array.prototype.push = saved.push;
      globalThis.parseInt = saved.parseInt;
      delete (Object.prototype as Record<string, unknown>).flowlabel;
      delete (Object.prototype as Record<string, unknown>).port;
      delete (Array.prototype as unknown as Record<string, unknown>)["0"];
    }
  });
});

describe("isLocalAddress", () => {
  it("knows this host's own addresses however they are written", async () => {
    const { networkInterfaces } = await import("node:os");
    const { isLocalAddress } = await import("../../src/outbound/own_listeners.js");
    for (const address of ["127.0.0.1", "::1", "::", "0.0.0.0", "::ffff:7f00:1", "[::ffff:127.0.0.1]"]) assert.equal(isLocalAddress(address), true, address);
    const own = Object.values(networkInterfaces()).flatMap((l) => l ?? []).find((i) => i.family === "IPv4" && !i.internal);
    if (own) {
      const [a, b, c, d] = own.address.split(".").map(Number) as [number, number, number, number];
      assert.equal(isLocalAddress(`::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`), true, `${own.address} in hex`);
    }
    assert.equal(isLocalAddress("8.8.8.8"), false);
  });
});
