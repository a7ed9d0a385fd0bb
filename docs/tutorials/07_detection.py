# %% [markdown]
# # 07_detection

# %%
print(1)
