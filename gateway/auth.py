"""JWT bearer tokens → Principal. The token is the identity provider's word: its tenant and roles win."""

from __future__ import annotations

import enum
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
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
# Clock skew tolerated between the identity provider and us.
LEEWAY_SECONDS: Final = 30
TIME_CLAIMS: Final = ("exp", "nbf", "iat")
# Larger numbers are no dates (and do not fit a float, which math.isfinite would fail on).
MAX_NUMERIC_DATE: Final = 2**53
# Where the tenant and the roles are in a token, unless CALLPULSE_JWT_TENANT_CLAIM / _ROLES_CLAIM say otherwise.
DEFAULT_TENANT_CLAIM: Final = "tenant_id"
DEFAULT_ROLES_CLAIM: Final = "roles"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    VIEWER = "viewer"
    # Machine tokens of the platform: may ingest events, may not read people's dashboards.
    SERVICE = "service"


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
class TokenVerifier:
    """Verifies tokens against the configured key sources; built once from Settings."""

    sources: tuple[KeySource, ...]
    issuer: str | None
    audience: str | None
    tenant_claim: str = DEFAULT_TENANT_CLAIM
    roles_claim: str = DEFAULT_ROLES_CLAIM

    @classmethod
    def from_settings(cls, settings: Settings, *, dev_secret: str | None = None) -> TokenVerifier:
        secret = settings.jwt_secret or dev_secret
        if secret is None and settings.jwt_public_key is None and settings.jwt_jwks_url is None:
            raise ConfigurationError("set CALLPULSE_JWT_SECRET (HS256), CALLPULSE_JWT_PUBLIC_KEY (RS256/ES256) "
                                     "or CALLPULSE_JWT_JWKS_URL (your identity provider's keys)")
        if settings.jwt_public_key is not None and settings.jwt_jwks_url is not None:
            # Both would serve RS256: which key a token meant would be a guess.
            raise ConfigurationError("set CALLPULSE_JWT_PUBLIC_KEY or CALLPULSE_JWT_JWKS_URL, not both")
        sources: list[KeySource] = []
        if secret is not None or settings.jwt_public_key is not None:
            sources.append(StaticKeys.configured(secret, settings.jwt_public_key))
        if settings.jwt_jwks_url is not None:
            sources.append(JwksKeys(settings.jwt_jwks_url, cache_seconds=settings.jwt_jwks_cache_seconds,
                                    refresh_seconds=settings.jwt_jwks_refresh_seconds,
                                    timeout_seconds=settings.jwt_jwks_timeout_seconds))
        return cls(tuple(sources), settings.jwt_issuer, settings.jwt_audience,
                   tenant_claim=settings.jwt_tenant_claim, roles_claim=settings.jwt_roles_claim)

    def _source_for(self, algorithm: str) -> KeySource:
        # The key is chosen by the algorithm we configured, never trusted from the header alone: an RS256
        # public key must not be usable as an HS256 secret, and 'none' is never accepted.
        for source in self.sources:
            if algorithm in source.algorithms:
                return source
        raise Unauthenticated(f"tokens signed with {algorithm!r} are not accepted", reason="unsupported_algorithm")

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; async so a key source that must fetch never blocks the loop."""
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
                audience=self.audience,
                leeway=LEEWAY_SECONDS,
                # The times are checked by check_times: pyjwt takes "9999999999" (a string) for a number.
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None,
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
        return principal_from_claims(claims, tenant_claim=self.tenant_claim, roles_claim=self.roles_claim)


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
    return Principal(user_id=str(claims["sub"]), tenant_id=tenant_id, roles=roles, expires_at=expires_at)


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
    path = data_dir / "dev-jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def signing_secret(settings: Settings) -> str:
    """The HS256 secret tokens are minted and verified with in this configuration."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret
    if settings.embedded and settings.jwt_public_key is None and settings.jwt_jwks_url is None:
        return dev_secret(settings.data_dir)
    raise ConfigurationError("set CALLPULSE_JWT_SECRET to mint tokens (RS256 tokens come from your identity provider)")


def verifier_for(settings: Settings) -> TokenVerifier:
    """The verifier of this configuration: configured keys, or the dev secret with the embedded database."""
    dev = dev_secret(settings.data_dir) if settings.embedded and settings.jwt_secret is None \
        and settings.jwt_public_key is None and settings.jwt_jwks_url is None else None
    return TokenVerifier.from_settings(settings, dev_secret=dev)
