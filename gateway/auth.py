"""JWT bearer tokens → Principal. The token is the identity provider's word: its tenant and roles win."""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import AllowedPublicKeys

from gateway.errors import ConfigurationError, Unauthenticated
from gateway.jwks import ES256, RS256, JwksKeys
from gateway.settings import Settings

HS256: Final = "HS256"
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash (256 bits); shorter ones can be brute-forced.
MIN_HS256_SECRET_BYTES: Final = 32
# gateway.auth.dev_secret's file under the data folder.
DEV_SECRET_FILE: Final = "dev-jwt-secret"  # noqa: S105 - a file name, not a secret
# Clock skew tolerated between the identity provider and us.
LEEWAY_SECONDS: Final = 30
# Verified tokens kept by their text (VerifiedTokens).
VERIFIED_TOKENS: Final = 4096
TIME_CLAIMS: Final = ("exp", "nbf", "iat")
# Larger numbers are no dates (and do not fit a float, which math.isfinite would fail on).
MAX_NUMERIC_DATE: Final = 2**53
# Where the tenant and the roles are in a token, unless CALLPULSE_JWT_TENANT_CLAIM / _ROLES_CLAIM say otherwise.
DEFAULT_TENANT_CLAIM: Final = "tenant_id"
DEFAULT_ROLES_CLAIM: Final = "roles"
# A screen token's grant (screen_tokens.id): tokens of the role `screen` carry it (gateway/screens.py).
SCREEN_CLAIM: Final = "scr"

log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    VIEWER = "viewer"
    # Machine tokens of the platform: may ingest events, may not read people's dashboards.
    SERVICE = "service"
    # A wall screen's short-lived token (gateway/screens.py): grants nothing by itself. The /graphql view
    # checks its grant and replaces it with the dashboard owner's role, read-only.
    SCREEN = "screen"


# Roles that may read people's data (agents, users, their metrics): every human role, not the platform's tokens.
READERS: Final = (Role.ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER)


@dataclass(frozen=True)
class Principal:
    """Who is asking: verified subject, tenant and roles."""

    # The token's `sub`: a directory user's UUID, an identity provider's subject (users.external_subject), or
    # a service name. The directory user it names is `loaders.user_by_subject`, resolved once per operation.
    user_id: str
    tenant_id: UUID
    roles: frozenset[Role]
    # The token's `exp` (seconds since the epoch): long-lived connections end when it passes.
    expires_at: float | None = None
    # A screen token's grant (its `scr` claim): the principal is read-only (gateway/screens.py).
    screen_id: UUID | None = None

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def user_uuid(self) -> UUID | None:
        """The subject as a UUID when it is one; not necessarily a directory user's id (see user_by_subject)."""
        try:
            return UUID(self.user_id)
        except ValueError:
            return None


# What jwt.decode verifies with: an HS256 secret or a public key object.
VerifyingKey = str | AllowedPublicKeys


class KeySource(Protocol):
    """Where the key verifying a token comes from, for the algorithms it serves."""

    @property
    def algorithms(self) -> frozenset[str]: ...

    async def key(self, algorithm: str, kid: str | None) -> VerifyingKey:
        """The key for a token of `algorithm` naming `kid`; Unauthenticated when there is none."""
        ...

    async def aclose(self) -> None:
        """Stops what the source runs in the background (a fetch in flight); for the app's shutdown."""
        ...


@dataclass(frozen=True)
class StaticKeys:
    """Keys configured by hand: CALLPULSE_JWT_SECRET (HS256), CALLPULSE_JWT_PUBLIC_KEY (RS256 or ES256)."""

    by_algorithm: Mapping[str, VerifyingKey]

    @classmethod
    def configured(cls, secret: str | None, public_key_pem: str | None) -> StaticKeys:
        keys: dict[str, VerifyingKey] = {}
        if secret is not None:
            keys[HS256] = secret
        if public_key_pem is not None:
            algorithm, key = _public_key(public_key_pem)
            keys[algorithm] = key
        return cls(keys)

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(self.by_algorithm)

    async def key(self, algorithm: str, kid: str | None) -> VerifyingKey:
        return self.by_algorithm[algorithm]

    async def aclose(self) -> None:
        return None


def _public_key(pem: str) -> tuple[str, AllowedPublicKeys]:
    """The algorithm a PEM public key verifies, and the key: checked at start-up, not at the first token."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as e:
        raise ConfigurationError(f"CALLPULSE_JWT_PUBLIC_KEY is not a PEM public key: {e}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return RS256, key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return ES256, key
    raise ConfigurationError("CALLPULSE_JWT_PUBLIC_KEY must be an RSA (RS256) or P-256 EC (ES256) public key")


@dataclass(frozen=True)
class _Verified:
    """A token that verified: what it says, and the key that verified it."""

    principal: Principal
    claims: Mapping[str, Any]
    algorithm: str
    kid: str | None
    key: VerifyingKey


class VerifiedTokens:
    """The tokens verified lately, by their text: a dashboard sends the same token with every request, and its
    signature check (with the decoding around it) was a seventh of a small request's CPU.

    A token is taken from here only while the key that verified it is still the one its source gives for its
    algorithm and kid (a JWKS rotation makes it verify again, a key withdrawn refuses it), and its times are
    checked on every request as for a new one: an expired token is refused all the same.
    """

    def __init__(self, size: int = VERIFIED_TOKENS) -> None:
        self.size = size
        self._entries: OrderedDict[str, _Verified] = OrderedDict()

    def get(self, token: str) -> _Verified | None:
        found = self._entries.get(token)
        if found is not None:
            self._entries.move_to_end(token)
        return found

    def put(self, token: str, verified: _Verified) -> None:
        self._entries[token] = verified
        self._entries.move_to_end(token)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies tokens against the configured key sources; built once from Settings."""

    sources: tuple[KeySource, ...]
    issuer: str | None
    audience: str | None
    tenant_claim: str = DEFAULT_TENANT_CLAIM
    roles_claim: str = DEFAULT_ROLES_CLAIM
    verified: VerifiedTokens = field(default_factory=VerifiedTokens, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, dev_secret: str | None = None) -> TokenVerifier:
        secret = settings.jwt_secret or dev_secret
        if secret is None and settings.jwt_public_key is None and settings.jwt_jwks_url is None:
            raise ConfigurationError("set CALLPULSE_JWT_SECRET (HS256), CALLPULSE_JWT_PUBLIC_KEY (RS256/ES256) "
                                     "or CALLPULSE_JWT_JWKS_URL (your identity provider's keys)")
        if settings.jwt_public_key is not None and settings.jwt_jwks_url is not None:
            # Both would serve RS256: which key a token meant would be a guess.
            raise ConfigurationError("set CALLPULSE_JWT_PUBLIC_KEY or CALLPULSE_JWT_JWKS_URL, not both")
        if secret is not None:
            check_hs256_secret(secret, "CALLPULSE_JWT_SECRET" if settings.jwt_secret else "the development secret")
        if settings.jwt_jwks_url is not None:
            check_pinned_to_provider(settings)
        elif settings.jwt_public_key is not None and settings.jwt_issuer is None:
            # A key of the operator's choosing signs only what its holder signs: pinning is advice, not a must.
            log.warning("CALLPULSE_JWT_PUBLIC_KEY without CALLPULSE_JWT_ISSUER: every token this key signs is "
                        "accepted; if it is an identity provider's key shared by its customers (Entra's are), "
                        "set CALLPULSE_JWT_ISSUER and CALLPULSE_JWT_AUDIENCE")
        sources: list[KeySource] = []
        if secret is not None or settings.jwt_public_key is not None:
            sources.append(StaticKeys.configured(secret, settings.jwt_public_key))
        if settings.jwt_jwks_url is not None:
            sources.append(JwksKeys(settings.jwt_jwks_url, cache_seconds=settings.jwt_jwks_cache_seconds,
                                    refresh_seconds=settings.jwt_jwks_refresh_seconds,
                                    timeout_seconds=settings.jwt_jwks_timeout_seconds))
        return cls(tuple(sources), settings.jwt_issuer, settings.jwt_audience,
                   tenant_claim=settings.jwt_tenant_claim, roles_claim=settings.jwt_roles_claim)

    async def aclose(self) -> None:
        """Stops the key sources' background work (a JWKS fetch in flight); called when the app shuts down."""
        for source in self.sources:
            await source.aclose()

    def _source_for(self, algorithm: str) -> KeySource:
        # The key is chosen by the algorithm we configured, never trusted from the header alone: an RS256
        # public key must not be usable as an HS256 secret, and 'none' is never accepted.
        for source in self.sources:
            if algorithm in source.algorithms:
                return source
        raise Unauthenticated(f"tokens signed with {algorithm!r} are not accepted", reason="unsupported_algorithm")

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; async so a key source that must fetch never blocks the loop."""
        known = self.verified.get(token)
        if known is not None:
            key = await self._source_for(known.algorithm).key(known.algorithm, known.kid)
            if key is known.key:
                try:
                    check_times(known.claims, time.time())
                except Unauthenticated:
                    self.verified.forget(token)
                    raise
                return known.principal
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the bearer token is not a well-formed JWT", reason="malformed_token") from None
        algorithm = str(header.get("alg", ""))
        kid = header.get("kid")
        key = await self._source_for(algorithm).key(algorithm, kid if isinstance(kid, str) else None)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                # The times are checked by check_times: pyjwt takes "9999999999" (a string) for a number. The
                # audience by check_audience, which also reads Cognito's `client_id`.
                options={"require": ["exp", "sub"], "verify_aud": False,
                         "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature does not verify", reason="invalid_signature") from None
        except jwt.MissingRequiredClaimError as e:
            raise Unauthenticated(f"the token lacks the {e.claim!r} claim", reason="invalid_claims") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError) as e:
            raise Unauthenticated(f"the token is not meant for this service: {e}", reason="invalid_claims") from None
        except jwt.DecodeError:
            raise Unauthenticated("the bearer token is not a well-formed JWT", reason="malformed_token") from None
        except jwt.InvalidTokenError as e:
            raise Unauthenticated(f"the token is invalid: {e}", reason="invalid_claims") from None
        check_times(claims, time.time())
        if self.audience is not None:
            check_audience(claims, self.audience)
        principal = principal_from_claims(claims, tenant_claim=self.tenant_claim, roles_claim=self.roles_claim)
        self.verified.put(token, _Verified(principal, claims, algorithm, kid if isinstance(kid, str) else None, key))
        return principal


def check_hs256_secret(secret: str, name: str) -> None:
    """An HS256 secret long enough not to be guessed (RFC 7518 §3.2), else ConfigurationError."""
    size = len(secret.encode())
    if size < MIN_HS256_SECRET_BYTES:
        raise ConfigurationError(
            f"{name} is {size} bytes; an HS256 secret must be at least {MIN_HS256_SECRET_BYTES} random bytes "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")


def check_pinned_to_provider(settings: Settings) -> None:
    """With a JWKS, tokens must name our issuer and audience: a provider signs for all its customers alike."""
    missing = [name for name, value in (("CALLPULSE_JWT_ISSUER", settings.jwt_issuer),
                                        ("CALLPULSE_JWT_AUDIENCE", settings.jwt_audience)) if value is None]
    if missing:
        raise ConfigurationError(
            f"CALLPULSE_JWT_JWKS_URL needs {' and '.join(missing)}: an identity provider signs the tokens of "
            "every directory and application it serves with the same keys (Entra's keys are shared by all Entra "
            "directories), so without both any of them could mint tokens for your tenants. Set "
            "CALLPULSE_JWT_ISSUER to your provider's issuer and CALLPULSE_JWT_AUDIENCE to this API's identifier "
            "(with Cognito: the app client id)")


def check_audience(claims: Mapping[str, Any], audience: str) -> None:
    """`aud` names this service; a token without any `aud` may name it as its `client_id` (Cognito's access tokens)."""
    if "aud" in claims:
        aud = claims["aud"]
        names = [aud] if isinstance(aud, str) else aud
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise Unauthenticated("the token's 'aud' must be a string or a list of strings", reason="invalid_claims")
        if audience not in names:
            raise Unauthenticated("the token is not meant for this service: its 'aud' does not name it",
                                  reason="invalid_claims")
        return
    # Only without `aud`: a token that names other audiences is not ours, whoever it was issued to.
    if claims.get("client_id") != audience:
        raise Unauthenticated("the token is not meant for this service: it names no audience ('aud') and its "
                              "'client_id' is not this service's", reason="invalid_claims")


def check_times(claims: Mapping[str, Any], now: float) -> None:
    """exp, nbf and iat are numbers (RFC 7519 NumericDate); the token is valid now, give or take the leeway."""
    for name in TIME_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)
                               or abs(value) > MAX_NUMERIC_DATE or not math.isfinite(value)):
            raise Unauthenticated(f"the token's {name!r} must be a number of seconds since the epoch",
                                  reason="invalid_claims")
    if claims["exp"] <= now - LEEWAY_SECONDS:
        raise Unauthenticated("the token has expired", reason="expired_token")
    if "nbf" in claims and claims["nbf"] > now + LEEWAY_SECONDS:
        raise Unauthenticated("the token is not valid yet ('nbf' is in the future)", reason="invalid_claims")
    if "iat" in claims and claims["iat"] > now + LEEWAY_SECONDS:
        raise Unauthenticated("the token was issued in the future ('iat')", reason="invalid_claims")


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at `path`, None when absent.

    A key equal to the whole path wins (`https://callpulse.example/tenant_id`, `cognito:groups`); otherwise the
    path is cut at a dot, the longest prefix naming an object first, and the rest looked up inside it the same
    way: `realm_access.roles`, `app_metadata.tenant`, `https://callpulse.example/claims.tenant`.
    """
    if path in claims:
        return claims[path]
    cut = path.rfind(".")
    while cut > 0:
        inner = claims.get(path[:cut])
        if isinstance(inner, Mapping):
            found = claim_at(inner, path[cut + 1:])
            if found is not None:
                return found
        cut = path.rfind(".", 0, cut)
    return None


def principal_from_claims(claims: Mapping[str, Any], *, tenant_claim: str = DEFAULT_TENANT_CLAIM,
                          roles_claim: str = DEFAULT_ROLES_CLAIM) -> Principal:
    raw_tenant = claim_at(claims, tenant_claim)
    if raw_tenant is None or raw_tenant == "":
        raise Unauthenticated(f"the token names no tenant (claim {tenant_claim!r})", reason="missing_tenant")
    try:
        tenant_id = UUID(str(raw_tenant))
    except ValueError:
        raise Unauthenticated(f"the token's {tenant_claim!r} is not a UUID", reason="invalid_claims") from None
    raw_roles = claim_at(claims, roles_claim)
    if raw_roles is None:
        raw_roles = []
    if isinstance(raw_roles, str):
        raw_roles = [raw_roles]
    if not isinstance(raw_roles, list):
        raise Unauthenticated(f"the token's {roles_claim!r} must be a list of strings", reason="invalid_claims")
    known = {r.value for r in Role}
    # Roles that are not ours (Keycloak's offline_access, other applications' groups) are ignored.
    roles = frozenset(Role(r) for r in raw_roles if isinstance(r, str) and r in known)
    if not roles:
        raise Unauthenticated(
            f"the token carries no known role in {roles_claim!r} (one of {', '.join(sorted(known))})",
            reason="invalid_claims",
        )
    exp = claims.get("exp")
    expires_at = float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
    screen_id = _screen_grant(claims, roles) if Role.SCREEN in roles else None
    return Principal(user_id=str(claims["sub"]), tenant_id=tenant_id, roles=roles, expires_at=expires_at,
                     screen_id=screen_id)


def _screen_grant(claims: Mapping[str, Any], roles: frozenset[Role]) -> UUID:
    """The grant a screen token names; `scr` is read only with the role `screen` (other issuers may use it)."""
    if roles != {Role.SCREEN}:
        raise Unauthenticated("a screen token carries the role 'screen' alone", reason="invalid_claims")
    raw = claims.get(SCREEN_CLAIM)
    try:
        if isinstance(raw, str):
            return UUID(raw)
    except ValueError:
        pass
    raise Unauthenticated(f"a screen token names its grant in {SCREEN_CLAIM!r}, a UUID", reason="invalid_claims")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` value."""
    if not authorization:
        raise Unauthenticated("send 'Authorization: Bearer <token>'", reason="missing_token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'", reason="malformed_token")
    return token.strip()


def mint_token(
    secret: str,
    *,
    tenant_id: UUID,
    user_id: str,
    roles: list[str],
    ttl_seconds: int = 24 * 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 development token, as `callpulse token` prints it."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "tenant_id": str(tenant_id), "roles": roles,
                              "iat": now, "exp": now + ttl_seconds}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm=HS256)


def dev_secret(data_dir: Path) -> str:
    """The development signing secret kept under the data folder, created on first use.

    Only used with the embedded database and no configured key, so `callpulse demo` and `callpulse token`
    agree without any set-up; a deployment configures CALLPULSE_JWT_SECRET or CALLPULSE_JWT_PUBLIC_KEY.
    """
    path = data_dir / DEV_SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _create_once(path, secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if not secret:
        # Only an older gateway, stopped between creating the file and writing it, leaves it empty.
        raise ConfigurationError(f"the development signing secret {path} is empty; delete it to have a new one made")
    return secret


def _create_once(path: Path, content: str) -> None:
    """Puts `content` at `path` unless something is there already; never visible half-written, first writer wins."""
    # Written in full under a name of our own (0600 from the start), then hard-linked into place: link() fails
    # when the name exists, so concurrent first runs all read the winner's secret and nobody an empty file.
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(staged, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def signing_secret(settings: Settings) -> str:
    """The HS256 secret tokens are minted and verified with in this configuration."""
    if settings.jwt_secret is not None:
        # A token the gateway would refuse to verify with this secret is not worth minting.
        check_hs256_secret(settings.jwt_secret, "CALLPULSE_JWT_SECRET")
        return settings.jwt_secret
    if settings.embedded and settings.jwt_public_key is None and settings.jwt_jwks_url is None:
        return dev_secret(settings.data_dir)
    raise ConfigurationError("set CALLPULSE_JWT_SECRET to mint tokens (RS256 tokens come from your identity provider)")


def verifier_for(settings: Settings) -> TokenVerifier:
    """The verifier of this configuration: configured keys, or the dev secret with the embedded database."""
    dev = dev_secret(settings.data_dir) if settings.embedded and settings.jwt_secret is None \
        and settings.jwt_public_key is None and settings.jwt_jwks_url is None else None
    return TokenVerifier.from_settings(settings, dev_secret=dev)
