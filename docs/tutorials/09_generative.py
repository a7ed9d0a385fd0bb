# %% [markdown]
# # 09_generative

# %%
print(1)
